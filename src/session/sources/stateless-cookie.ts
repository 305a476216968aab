// The ground the Flask, Django (signed_cookies) and Rails sources share: the whole session is in
// the cookie, signed or encrypted with the app's secret, so identify() answers at once with no
// read. Being stateless has a price the docs state: the app's logout only makes the browser
// forget the cookie; a copy kept elsewhere stays valid until it expires or its secret is rotated
// out of the gateway's key list.

import { BoundedMemo } from '../../bounded-memo.js'
import { deepFreeze } from '../../deep-freeze.js'
import {
  type GatewayErrorClass,
  GW_ERR_BAD_COOKIE,
  GW_ERR_NO_SESSION,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
} from '../../errors.js'
import { decodeCookieValue, readSentCookie } from '../cookie-header.js'
import type {
  SessionDecoded,
  SessionDecodeResult,
  SessionObject,
  SessionRefusal,
  SessionRefusalReason,
} from '../formats/signed-result.js'
import type { Identity } from '../session-identity.js'
import type { IdentityResult, NoIdentity, PendingRead, SessionSource } from '../session-source.js'

export interface SessionDecoder {
  decode(value: string, now?: number): SessionDecodeResult
  /**
   * What decode() would refuse at `now` a value it accepted before, given the times decode()
   * returned for it: the only part of its answer that can change while the decoder is the same.
   */
  timeRefusal(accepted: AcceptedTimes, now: number): SessionRefusal | null
}

type AcceptedTimes = Pick<SessionDecoded, 'signedAt' | 'expiresAt'>

/** Cookie values that decoded, remembered per decoder; when full, the oldest goes. */
export const ACCEPTED_COOKIE_MEMO_SIZE = 10_000

interface AcceptedCookie {
  readonly times: AcceptedTimes
  /** The identity in the session, or NO_USER for an authentic session without a user. */
  readonly answer: IdentityResult
}

/** Where the user id sits in the decoded session, and how to read it. */
export interface UserLocation {
  /** A top-level key of the session, or, when no key has that name, a dotted path. */
  readonly userField: string
  /** 'devise': the value is Devise's [[id], salt]; the id is the first element of the first array. */
  readonly userShape: 'value' | 'devise'
  readonly groupsField: string
}

export interface StatelessCookieSourceOptions extends UserLocation {
  readonly name: string
  readonly cookieName: string
  readonly decoder: SessionDecoder
  /** The clock, in ms; tests of expiry move it. */
  readonly now?: () => number
}

const NO_COOKIE: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_NO_SESSION, why: 'no-cookie' })
const NO_USER: NoIdentity = Object.freeze({ ok: false, reason: GW_ERR_SESSION_NO_USER, why: 'no-user' })

// Each refusal of a decoder, once: the decision line carries the decoder's reason as `why`.
const REFUSALS: Readonly<Record<SessionRefusalReason, NoIdentity>> = Object.freeze({
  malformed: refusal(GW_ERR_BAD_COOKIE, 'malformed'),
  'bad-signature': refusal(GW_ERR_BAD_COOKIE, 'bad-signature'),
  expired: refusal(GW_ERR_SESSION_EXPIRED, 'expired'),
  'refused-serializer': refusal(GW_ERR_BAD_COOKIE, 'refused-serializer'),
  'too-large': refusal(GW_ERR_BAD_COOKIE, 'too-large'),
  'too-deep': refusal(GW_ERR_BAD_COOKIE, 'too-deep'),
  'wrong-purpose': refusal(GW_ERR_BAD_COOKIE, 'wrong-purpose'),
})

function refusalFor(result: SessionRefusal): NoIdentity {
  return REFUSALS[result.reason] ?? REFUSALS.malformed
}

function refusal(reason: GatewayErrorClass, why: string): NoIdentity {
  return Object.freeze({ ok: false, reason, why })
}

export class StatelessCookieSource implements SessionSource {
  readonly name: string
  readonly #cookieName: string
  readonly #decoder: SessionDecoder
  readonly #where: UserLocation
  readonly #now: () => number
  // A browser sends the same cookie with every download, and verifying or decrypting it (an HMAC, or
  // AES-GCM, then base64 and JSON) was most of what such a download cost the gateway. The memo is the
  // source's own: a source is built with its decoder (the secrets, salt, purpose and max age of one
  // config) and never changes it, so its memo is exactly "what this key set accepted, read for this
  // user field", and a gateway given other secrets builds another source whose memo starts empty (a
  // secret taken out refuses the very next request). Only values the decoder accepted are kept,
  // keyed by the value exactly as sent; a refusal is never kept, so nothing remembered can turn a refusal into an acceptance. On every hit the decoder's time rules
  // run again on the times it returned (max age from the signature's timestamp, the expiry inside a
  // Rails message), so a remembered value expires on the very request a fresh decode would refuse.
  // Memory: at most ACCEPTED_COOKIE_MEMO_SIZE cookies, each at most the decoder's value limit (and a
  // browser keeps no cookie above 4 KiB); only values a secret holder wrote get in.
  readonly #accepted = new BoundedMemo<string, AcceptedCookie>(ACCEPTED_COOKIE_MEMO_SIZE)

  constructor(o: StatelessCookieSourceOptions) {
    this.name = o.name
    this.#cookieName = o.cookieName
    this.#decoder = o.decoder
    this.#where = { userField: o.userField, userShape: o.userShape, groupsField: o.groupsField }
    this.#now = o.now ?? Date.now
  }

  identify(cookieHeader: string | undefined): IdentityResult {
    const sent = readSentCookie(cookieHeader, this.#cookieName)
    if (sent === undefined || sent === '') return NO_COOKIE
    const now = this.#now()
    const known = this.#accepted.get(sent)
    if (known !== undefined) {
      const late = this.#decoder.timeRefusal(known.times, now)
      return late === null ? known.answer : refusalFor(late)
    }
    const result = this.#decoder.decode(decodeCookieValue(sent), now)
    if (!result.ok) return refusalFor(result)
    const identity = identityIn(result.session, this.#where)
    const answer: IdentityResult =
      identity === null ? NO_USER : Object.freeze({ ok: true, identity: deepFreeze(identity) })
    this.#accepted.set(sent, { times: { signedAt: result.signedAt, expiresAt: result.expiresAt }, answer })
    return answer
  }

  read(_pending: PendingRead): Promise<IdentityResult> {
    // identify() never asks for a read; a caller that makes one anyway has a bug.
    return Promise.reject(new Error(`the ${this.name} session source never needs a read`))
  }

  ping(): Promise<void> {
    return Promise.resolve()
  }

  close(): Promise<void> {
    return Promise.resolve()
  }
}

/** The identity in a decoded session, or null when it has no usable user id. */
export function identityIn(session: SessionObject, where: UserLocation): Identity | null {
  let raw = fieldOf(session, where.userField)
  if (where.userShape === 'devise') raw = Array.isArray(raw) && Array.isArray(raw[0]) ? raw[0][0] : undefined
  const user = userIdText(raw)
  if (user === null) return null
  const rawGroups = fieldOf(session, where.groupsField)
  let groups: string[] = []
  if (Array.isArray(rawGroups))
    groups = rawGroups.filter((g): g is string => typeof g === 'string' && g.length > 0)
  else if (typeof rawGroups === 'string' && rawGroups.length > 0) groups = [rawGroups]
  return { user, groups }
}

// Framework session keys may hold dots themselves (Devise's `warden.user.user.key`), so the
// whole name is tried as one key before it is read as a path.
function fieldOf(session: SessionObject, field: string): unknown {
  if (Object.hasOwn(session, field)) return session[field]
  let value: unknown = session
  for (const key of field.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value) || !Object.hasOwn(value, key))
      return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

function userIdText(raw: unknown): string | null {
  if (typeof raw === 'string') return raw.length > 0 ? raw : null
  if (typeof raw === 'number') return Number.isFinite(raw) ? String(raw) : null
  if (typeof raw === 'bigint') return String(raw)
  return null
}
