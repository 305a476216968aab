// The frozen "no identity" answers the server-side sources (PHP, Django) give: made once and
// shared, so a refused download allocates nothing and every source says the same thing the
// same way.
import {
  GW_ERR_NO_SESSION,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
  GW_ERR_SESSION_UNREADABLE,
} from '../../errors.js'
import type { NoIdentity } from '../session-source.js'

export const noIdentity = (reason: NoIdentity['reason'], why: string): NoIdentity =>
  Object.freeze({ ok: false, reason, why })

export const NO_COOKIE = noIdentity(GW_ERR_NO_SESSION, 'no-cookie')
export const UNKNOWN = noIdentity(GW_ERR_SESSION_UNKNOWN, 'unknown')
export const EXPIRED = noIdentity(GW_ERR_SESSION_EXPIRED, 'expired')
export const NO_USER = noIdentity(GW_ERR_SESSION_NO_USER, 'no-user')

const unreadable = new Map<string, NoIdentity>()

/** One frozen answer per decoder reason (a short, fixed list: php-object, pickle-global, truncated...). */
export function unreadableBecause(reason: string): NoIdentity {
  let known = unreadable.get(reason)
  if (known === undefined) {
    known = noIdentity(GW_ERR_SESSION_UNREADABLE, reason)
    unreadable.set(reason, known)
  }
  return known
}
