// Any app whose sessions the gateway cannot read itself (Laravel, Spring, ASP.NET, a custom
// stack): the gateway asks an endpoint of the app who the request's session belongs to,
// forwarding only the configured session cookies, and reads `{user, groups}` from its JSON answer.
// Answers are kept per exact forwarded cookie value for `cacheTtlMs` (the staleness bound); an app
// that is slow, failing or answers nonsense means 503 (fail closed), a 401/403 means anonymous.
import {
  GW_ERR_BAD_COOKIE,
  GW_ERR_NO_SESSION,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
} from '../../errors.js'
import { readSentCookie } from '../cookie-header.js'
import { readPath } from '../session-identity.js'
import type { IdentityResult, NoIdentity, PendingRead, SessionSource } from '../session-source.js'
import { StoreUnavailableError } from '../session-store.js'
import { AnswerCache } from './answer-cache.js'
import { type CallbackAnswer, CallbackFailure, CallbackHttp } from './callback-http.js'

export interface CallbackSourceOptions {
  readonly url: URL
  /** The cookies the app's session needs; no other cookie of the request is ever sent. */
  readonly cookieNames: readonly string[]
  readonly timeoutMs: number
  /** 0: every download asks the app. */
  readonly cacheTtlMs: number
  readonly cacheMaxEntries: number
  readonly userField: readonly string[]
  readonly groupsField: readonly string[]
  /** A header that tells the app this call is the gateway's, e.g. a shared token. */
  readonly token?: { readonly header: string; readonly value: string }
  /** Milliseconds on a monotonic clock; tests move it to see the cache expire. */
  readonly now?: () => number
}

/** A 200 body larger than this is refused: a "who is this?" answer is a few hundred bytes. */
export const MAX_ANSWER_BYTES = 64 * 1024
/** Browsers keep a cookie to 4096 bytes, name included. */
const MAX_COOKIE_VALUE = 4096
/** Connections to the app at most; one download makes at most one call. */
const MAX_SOCKETS = 64
// RFC 6265 cookie-octets: anything else cannot be sent in a header as it is, and no app sets it.
const COOKIE_OCTETS = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/

interface AppCall extends PendingRead {
  /** The Cookie header sent to the app: exactly the configured cookies, in config order. */
  readonly cookie: string
}

const NO_SESSION: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_NO_SESSION, why: 'no-cookie' })
const BAD_COOKIE: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_BAD_COOKIE, why: 'cookie-chars' })
const NO_USER: NoIdentity = Object.freeze({
  ok: false,
  reason: GW_ERR_SESSION_NO_USER,
  why: 'callback-no-user',
})
const ANONYMOUS_401: NoIdentity = Object.freeze({
  ok: false,
  reason: GW_ERR_SESSION_UNKNOWN,
  why: 'callback-401',
})
const ANONYMOUS_403: NoIdentity = Object.freeze({
  ok: false,
  reason: GW_ERR_SESSION_UNKNOWN,
  why: 'callback-403',
})

export class CallbackSessionSource implements SessionSource {
  readonly name = 'callback'
  readonly #o: CallbackSourceOptions
  readonly #http: CallbackHttp
  readonly #answers: AnswerCache<IdentityResult>

  constructor(o: CallbackSourceOptions) {
    this.#o = o
    this.#http = new CallbackHttp({
      url: o.url,
      timeoutMs: o.timeoutMs,
      maxBodyBytes: MAX_ANSWER_BYTES,
      headers: o.token ? { [o.token.header]: o.token.value } : {},
      maxSockets: MAX_SOCKETS,
    })
    this.#answers = new AnswerCache(o.cacheTtlMs, o.cacheMaxEntries, o.now)
  }

  identify(cookieHeader: string | undefined): IdentityResult | AppCall {
    let cookie = ''
    for (const name of this.#o.cookieNames) {
      const value = readSentCookie(cookieHeader, name)
      if (value === undefined || value === '') continue
      if (value.length > MAX_COOKIE_VALUE || !COOKIE_OCTETS.test(value)) return BAD_COOKIE
      cookie = cookie === '' ? `${name}=${value}` : `${cookie}; ${name}=${value}`
    }
    if (cookie === '') return NO_SESSION
    // A fresh answer for this exact cookie needs no call: the download's fast path.
    return this.#answers.get(cookie) ?? { pendingRead: true, cookie }
  }

  read(pending: PendingRead): Promise<IdentityResult> {
    const { cookie } = pending as AppCall
    return this.#answers.load(
      cookie,
      () => this.#ask(cookie),
      () => true,
    )
  }

  /** The app answers at all: a 200 or the 401/403 of a request without a session. */
  async ping(): Promise<void> {
    const answer = await this.#http.get(undefined).catch((err: unknown) => {
      throw unavailable(err)
    })
    if (answer.status !== 200 && answer.status !== 401 && answer.status !== 403)
      throw unavailable(new CallbackFailure(unexpectedStatus(answer.status)))
  }

  async close(): Promise<void> {
    this.#http.close()
    this.#answers.clear()
  }

  async #ask(cookie: string): Promise<IdentityResult> {
    let answer: CallbackAnswer
    try {
      answer = await this.#http.get(cookie)
    } catch (err) {
      throw unavailable(err)
    }
    if (answer.status === 401) return ANONYMOUS_401
    if (answer.status === 403) return ANONYMOUS_403
    if (answer.status !== 200) throw unavailable(new CallbackFailure(unexpectedStatus(answer.status)))
    const result = this.#identityIn(answer.body ?? Buffer.alloc(0))
    if (typeof result === 'string') throw unavailable(new CallbackFailure(result))
    return result
  }

  /** The identity a 200 body names, or why the body is not an answer. */
  #identityIn(body: Buffer): IdentityResult | string {
    let data: unknown
    try {
      data = JSON.parse(body.toString('utf8'))
    } catch {
      return 'answer is not JSON'
    }
    if (data === null || typeof data !== 'object' || Array.isArray(data)) return 'answer is not a JSON object'
    const rawUser = readPath(data, this.#o.userField)
    let user: string
    if (rawUser === undefined || rawUser === null || rawUser === '') return NO_USER
    if (typeof rawUser === 'string') user = rawUser
    else if (typeof rawUser === 'number' && Number.isSafeInteger(rawUser)) user = String(rawUser)
    else return 'user is neither a string nor an integer'
    const rawGroups = readPath(data, this.#o.groupsField)
    if (rawGroups === undefined || rawGroups === null) return { ok: true, identity: { user, groups: [] } }
    if (!Array.isArray(rawGroups) || !rawGroups.every((g) => typeof g === 'string' && g.length > 0))
      return 'groups is not a list of non-empty strings'
    return { ok: true, identity: { user, groups: rawGroups as string[] } }
  }
}

function unexpectedStatus(status: number): string {
  return status >= 300 && status < 400
    ? `answered ${status}, a redirect: the endpoint must answer 401 for nobody (send JSON, not a login page)`
    : `answered ${status}`
}

function unavailable(err: unknown): StoreUnavailableError {
  const why = err instanceof CallbackFailure ? err.message : 'failed'
  return new StoreUnavailableError(new Error(`callback: ${why}`))
}
