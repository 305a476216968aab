// Reloading what can change without a restart: the rules, the users file and the session secrets.
// Each is read and checked aside and swapped in with one assignment, so a request sees the old or
// the new, never a mix; on any error the last good one stays, with an error line and a refused
// count. Rules have their own holder (acl/holder.ts); users and secrets are here.
import type { AclHolder } from '../acl/index.js'
import { readSecrets } from '../config/env-secrets.js'
import { ConfigError, formatProblem } from '../config/problems.js'
import { type LoginUser, loadUsersFile } from '../login/users-file.js'
import type { SessionCookieVerifier } from '../session/signed-cookie.js'
import type { GatewayMetrics, ReloadTarget } from './metrics.js'

/**
 * The login's users, reloadable. A ReadonlyMap itself, so the login route takes it as it takes a
 * plain map and never holds on to an old one: every lookup reads the current map.
 */
export class UsersHolder implements ReadonlyMap<string, LoginUser> {
  #current: ReadonlyMap<string, LoginUser>

  /**
   * `vet` is what start-up refuses beyond the file's own checks (a user with the published example
   * password): a reload must not let in what a start would not. It answers the reason, or undefined.
   */
  constructor(
    readonly file: string,
    first: ReadonlyMap<string, LoginUser>,
    private readonly vet?: (users: ReadonlyMap<string, LoginUser>) => Promise<string | undefined>,
  ) {
    this.#current = first
  }

  /** Reads the file again; rejects (the current users stay) when it is invalid or refused. */
  async reload(): Promise<number> {
    const next = loadUsersFile(this.file)
    const refusal = await this.vet?.(next)
    if (refusal !== undefined) throw new Error(refusal)
    this.#current = next
    return next.size
  }

  get(id: string): LoginUser | undefined {
    return this.#current.get(id)
  }
  has(id: string): boolean {
    return this.#current.has(id)
  }
  get size(): number {
    return this.#current.size
  }
  forEach(cb: (value: LoginUser, key: string, map: ReadonlyMap<string, LoginUser>) => void): void {
    for (const [k, v] of this.#current) cb(v, k, this)
  }
  entries(): MapIterator<[string, LoginUser]> {
    return this.#current.entries()
  }
  keys(): MapIterator<string> {
    return this.#current.keys()
  }
  values(): MapIterator<LoginUser> {
    return this.#current.values()
  }
  [Symbol.iterator](): MapIterator<[string, LoginUser]> {
    return this.#current[Symbol.iterator]()
  }
}

export interface ReloadLog {
  info(o: object, m: string): void
  error(o: object, m: string): void
}

export interface ReloaderOptions {
  readonly acl: AclHolder
  readonly users?: UsersHolder
  /** With the environment the secrets came from; absent when they cannot change. */
  readonly secrets?: { readonly verifier: SessionCookieVerifier; readonly env: NodeJS.ProcessEnv }
  readonly log: ReloadLog
  readonly metrics?: GatewayMetrics
}

export interface ReloadOutcome {
  readonly rules: boolean
  readonly users?: boolean
  readonly secrets?: boolean
}

export class Reloader {
  readonly #o: ReloaderOptions
  #queue: Promise<unknown> = Promise.resolve()

  constructor(o: ReloaderOptions) {
    this.#o = o
  }

  /** Reloads everything; reloads run one after another. Never rejects. */
  reloadAll(reason: string): Promise<ReloadOutcome> {
    const run = this.#queue.then(() => this.#reloadAll(reason))
    this.#queue = run.catch(() => undefined)
    return run
  }

  async #reloadAll(reason: string): Promise<ReloadOutcome> {
    const rules = (await this.#o.acl.reload(reason)).ok
    return { rules, users: await this.reloadUsers(reason), secrets: this.reloadSecrets(reason) }
  }

  /** undefined when there is no users file (login off). */
  async reloadUsers(reason: string): Promise<boolean | undefined> {
    const users = this.#o.users
    if (!users) return undefined
    try {
      const count = await users.reload()
      this.#done('users', true, { users: count, file: users.file, reason }, 'users file reloaded')
      return true
    } catch (err) {
      const problems =
        err instanceof ConfigError ? err.problems.map(formatProblem) : [(err as Error).message ?? String(err)]
      this.#done(
        'users',
        false,
        { file: users.file, problems, reason },
        'users file refused: the previous users stay',
      )
      return false
    }
  }

  /**
   * Only secrets from GATEWAY_SESSION_SECRETS_FILE can change: a variable of the environment is
   * fixed for the life of the process. undefined when there is nothing to re-read.
   */
  reloadSecrets(reason: string): boolean | undefined {
    const s = this.#o.secrets
    if (!s || s.env.GATEWAY_SESSION_SECRETS || !s.env.GATEWAY_SESSION_SECRETS_FILE) return undefined
    const problems: string[] = []
    const secrets = readSecrets(s.env, (name, message) => problems.push(`${name}: ${message}`))
    if (secrets.length === 0 && problems.length === 0)
      problems.push('GATEWAY_SESSION_SECRETS_FILE: no secret in it')
    if (problems.length > 0) {
      // The problems name the variable and the file, never a secret.
      this.#done('secrets', false, { problems, reason }, 'session secrets refused: the previous secrets stay')
      return false
    }
    s.verifier.setSecrets(secrets)
    this.#done('secrets', true, { secrets: secrets.length, reason }, 'session secrets reloaded')
    return true
  }

  #done(target: ReloadTarget, ok: boolean, fields: object, message: string): void {
    this.#o.metrics?.countReload(target, ok)
    if (ok) this.#o.log.info(fields, message)
    else this.#o.log.error(fields, message)
  }
}
