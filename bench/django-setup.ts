// The bench's Django sessions: one session of the bench user written as Django writes it, in a
// django_session row (PostgreSQL, with django.contrib.auth's tables and the user in two groups)
// and under django-redis' cache key (the dict pickled), and the gateway configs that read them.
// Written here by our own code, byte for byte in Django's formats (the tests prove the gateway
// reads what the real Django writes; the bench only needs one valid session).
import { createHash, createHmac, randomBytes } from 'node:crypto'
import { createClient } from 'redis'
import type { PostgresServer } from '../test/harness/postgres.js'
import { gatewayYaml } from './gateway-setup.js'

/** The Django SECRET_KEY of the bench site. */
export const DJANGO_BENCH_SECRET = `django-insecure-${randomBytes(24).toString('hex')}`
const PASSWORD_HASH = 'md5$bench$0123456789abcdef0123456789abcdef'

/** What the bench gateways read, and the cookie that names it. */
export async function writeDjangoSession(postgres: PostgresServer, redisUrl: string): Promise<string> {
  const key = randomBytes(16).toString('hex')
  const session = {
    _auth_user_id: '1',
    _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
    _auth_user_hash: saltedHmacHex(
      'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash',
      PASSWORD_HASH,
    ),
    groups: ['staff', 'bench'],
  }
  // The tables and columns Django's migrations make that the gateway reads.
  await postgres.sql(`
    CREATE TABLE django_session (session_key varchar(40) PRIMARY KEY, session_data text NOT NULL,
      expire_date timestamptz NOT NULL);
    CREATE TABLE auth_user (id serial PRIMARY KEY, username varchar(150) UNIQUE NOT NULL,
      password varchar(128) NOT NULL, is_active boolean NOT NULL);
    CREATE TABLE auth_group (id serial PRIMARY KEY, name varchar(150) UNIQUE NOT NULL);
    CREATE TABLE auth_user_groups (id serial PRIMARY KEY, user_id int NOT NULL REFERENCES auth_user,
      group_id int NOT NULL REFERENCES auth_group);
    CREATE INDEX ON auth_user_groups (user_id);
    INSERT INTO auth_user (username, password, is_active) VALUES ('bench-user', '${PASSWORD_HASH}', true);
    INSERT INTO auth_group (name) VALUES ('staff'), ('bench');
    INSERT INTO auth_user_groups (user_id, group_id) VALUES (1, 1), (1, 2);
  `)
  await postgres.sql(`INSERT INTO django_session VALUES ($1, $2, now() + interval '1 day')`, [
    key,
    signedSessionData(session),
  ])
  const client = createClient({ url: redisUrl })
  await client.connect()
  try {
    await client.set(`:1:django.contrib.sessions.cache${key}`, pickledSession(session), { EX: 86_400 })
  } finally {
    await client.close()
  }
  return `sessionid=${key}`
}

/**
 * A gateway on Django's sessions: `db` with the auth tables (two queries a download), or `cache`
 * (one GET); `answerCacheMs` keeps answers per session key (the documented staleness bound).
 */
export function djangoGatewayYaml(
  filesRoot: string,
  redisUrl: string,
  backend: 'db' | 'cache',
  postgres: PostgresServer,
  answerCacheMs: number,
): string {
  const django = `  source: django
  django:
    backend: ${backend}
    answer_cache_ms: ${answerCacheMs}
    database:
      port: ${postgres.port}
      name: ${postgres.database}
      user: ${postgres.user}
    auth:
      enabled: ${backend === 'db'}
      user_column: username
`
  const yaml = gatewayYaml(filesRoot, redisUrl, false).replace(
    'session:\n  store: redis\n',
    `session:\n  store: memory\n${django}`,
  )
  // Else the gateway would read the connect cookie every request also carries, and measure that.
  if (!yaml.includes('source: django')) throw new Error('gatewayYaml changed: update djangoGatewayYaml')
  return yaml
}

function saltedHmacHex(keySalt: string, value: string): string {
  const key = createHash('sha256').update(keySalt).update(DJANGO_BENCH_SECRET).digest()
  return createHmac('sha256', key).update(value).digest('hex')
}

/** SessionBase.encode: signing.dumps(session, salt='django.contrib.sessions.SessionStore'). */
function signedSessionData(session: object): string {
  const payload = Buffer.from(JSON.stringify(session)).toString('base64url')
  let seconds = Math.floor(Date.now() / 1000)
  const digits = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
  let timestamp = ''
  for (; seconds > 0; seconds = Math.floor(seconds / 62)) timestamp = digits[seconds % 62] + timestamp
  const value = `${payload}:${timestamp}`
  const key = createHash('sha256')
    .update('django.contrib.sessions.SessionStoresigner')
    .update(DJANGO_BENCH_SECRET)
  return `${value}:${createHmac('sha256', key.digest()).update(value).digest('base64url')}`
}

/** pickle.dumps of a dict of str and lists of str, protocol 2 (what the safe unpickler reads). */
function pickledSession(session: Record<string, string | string[]>): Buffer {
  const str = (text: string) => {
    const bytes = Buffer.from(text, 'utf8')
    const header = Buffer.from([0x58, 0, 0, 0, 0])
    header.writeUInt32LE(bytes.length, 1)
    return Buffer.concat([header, bytes])
  }
  const parts: Buffer[] = [Buffer.from([0x80, 0x02, 0x7d, 0x28])]
  for (const [name, value] of Object.entries(session)) {
    parts.push(str(name))
    if (typeof value === 'string') parts.push(str(value))
    else parts.push(Buffer.from([0x5d, 0x28]), ...value.map(str), Buffer.from([0x65]))
  }
  parts.push(Buffer.from([0x75, 0x2e]))
  return Buffer.concat(parts)
}
