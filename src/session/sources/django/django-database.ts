// Django's tables on PostgreSQL, read and never written: the `django_session` row of a session
// key (the db and cached_db backends), and the auth user it names (is_active, the password hash
// for the session-auth hash, the group names). node-postgres' pool: every query parameterised and
// prepared once per connection, a statement timeout on the server and a query timeout here, and
// sessions opened read-only. A query that fails or times out rejects with StoreUnavailableError,
// so the download gets 503: an outage of the app's database never reads as "nobody" or "anyone".
import pg from 'pg'
import type { DjangoConfig } from '../../../config/django-config.js'
import { StoreUnavailableError } from '../../session-store.js'

/**
 * The `session.django.database` settings (url, host, port, name, user, password, pool size,
 * timeouts, table names: docs/configuration.md), and the column the identity's user is read from:
 * `id` (the pk, as the session holds it), `username`...
 */
export type DjangoDatabaseOptions = DjangoConfig['database'] & {
  readonly userColumn: string
  readonly onError?: (err: Error) => void
}

export interface StoredDbSession {
  readonly sessionData: string
  readonly expireDate: Date
}

export interface DjangoUserRow {
  /** The user's `userColumn`, as text. */
  readonly name: string
  readonly isActive: boolean
  /** Only to compute the session-auth hash; never logged, never kept past the request. */
  readonly passwordHash: string
  /** Group names; empty when groups were not asked for. */
  readonly groups: readonly string[]
}

// Text Postgres could not read as the id column's type (an id that is no integer, no uuid...):
// that session names no user of this table, it is not an outage.
const NOT_AN_ID = new Set(['22P02', '22003'])

export class DjangoDatabase {
  readonly #pool: pg.Pool
  readonly #sessionQuery: string
  readonly #userQuery: string
  readonly #userWithGroupsQuery: string

  constructor(o: DjangoDatabaseOptions) {
    this.#pool = new pg.Pool({
      ...(o.url === undefined ? {} : { connectionString: o.url }),
      host: o.host,
      port: o.port,
      database: o.name,
      user: o.user,
      ...(o.password === undefined ? {} : { password: o.password }),
      max: o.poolSize,
      connectionTimeoutMillis: o.connectTimeoutMs,
      statement_timeout: o.statementTimeoutMs,
      // The server's timeout cannot fire when the server itself hangs; this one can.
      query_timeout: o.statementTimeoutMs + 100,
      idleTimeoutMillis: 30_000,
      application_name: 'download-gateway',
      // The gateway only reads: a session opened read-only keeps it that way whatever the grant.
      options: '-c default_transaction_read_only=on',
    })
    // An idle connection that breaks emits here; without a listener it would end the process.
    this.#pool.on('error', (err) => o.onError?.(err))
    const [session, users, userGroups, groups, userColumn] = [
      o.sessionTable,
      o.userTable,
      o.userGroupsTable,
      o.groupTable,
      o.userColumn,
    ].map(quoteIdentifier)
    this.#sessionQuery = `SELECT session_data, expire_date FROM ${session} WHERE session_key = $1`
    const columns = `u.is_active, u.password, u.${userColumn}::text AS name`
    this.#userQuery = `SELECT ${columns} FROM ${users} u WHERE u.id = $1`
    this.#userWithGroupsQuery =
      `SELECT ${columns}, ARRAY(SELECT g.name FROM ${userGroups} ug JOIN ${groups} g ` +
      `ON g.id = ug.group_id WHERE ug.user_id = u.id) AS groups FROM ${users} u WHERE u.id = $1`
  }

  async readSession(sessionKey: string): Promise<StoredDbSession | null> {
    const rows = await this.#query('django-session', this.#sessionQuery, [sessionKey])
    const row = rows[0]
    if (row === undefined) return null
    const { session_data: sessionData, expire_date: expireDate } = row
    if (typeof sessionData !== 'string' || !(expireDate instanceof Date))
      throw new StoreUnavailableError(new Error(`${this.#sessionQuery}: unexpected column types`))
    return { sessionData, expireDate }
  }

  /** The user with this primary key (as Django's session holds it: text), or null. */
  async readUser(userId: string, withGroups: boolean): Promise<DjangoUserRow | null> {
    const [name, text] = withGroups
      ? ['django-user-groups', this.#userWithGroupsQuery]
      : ['django-user', this.#userQuery]
    let rows: pg.QueryResultRow[]
    try {
      rows = await this.#query(name, text, [userId])
    } catch (err) {
      if (NOT_AN_ID.has(((err as StoreUnavailableError).cause as { code?: string } | undefined)?.code ?? ''))
        return null
      throw err
    }
    const row = rows[0]
    if (row === undefined) return null
    const groups: unknown = withGroups ? row.groups : []
    if (
      typeof row.is_active !== 'boolean' ||
      typeof row.password !== 'string' ||
      typeof row.name !== 'string' ||
      !Array.isArray(groups)
    )
      throw new StoreUnavailableError(new Error(`${text}: unexpected column types`))
    return {
      name: row.name,
      isActive: row.is_active,
      passwordHash: row.password,
      groups: groups.filter((g): g is string => typeof g === 'string' && g.length > 0),
    }
  }

  async ping(): Promise<void> {
    await this.#query('django-ping', 'SELECT 1', [])
  }

  async close(): Promise<void> {
    await this.#pool.end().catch(() => {})
  }

  async #query(name: string, text: string, values: unknown[]): Promise<pg.QueryResultRow[]> {
    try {
      // A named query is parsed and planned once per connection, then only executed.
      return (await this.#pool.query({ name, text, values })).rows
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }
}

/** `auth_user` -> `"auth_user"`, `app.users` -> `"app"."users"`; the schema allows no quotes. */
function quoteIdentifier(name: string): string {
  return name
    .split('.')
    .map((part) => `"${part}"`)
    .join('.')
}
