// The download decision, apart from how it is answered: the raw request target and the Cookie
// header in, an outcome out. Data flows one way: raw path -> canonical path -> identity -> ACL.
// Kept apart from the route (routes/download.ts) so what is decided can be read, and tested, apart
// from how the reply is written.
import type { FastifyError } from 'fastify'
import type { RuleRef, RuleSet, Subject } from '../acl/index.js'
import type { DecisionRecord } from '../decision-log.js'
import type { DeliveryPolicy } from '../delivery/accel-headers.js'
import {
  GW_ERR_BAD_COOKIE,
  GW_ERR_BAD_PATH,
  GW_ERR_DENIED,
  GW_ERR_HIDDEN,
  GW_ERR_NO_SESSION,
  GW_ERR_PATH_TOO_LONG,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
  GW_ERR_STORE_UNAVAILABLE,
} from '../errors.js'
import { canonicalizeRequestPath } from '../paths/canonical-path.js'
import { readSentCookie } from '../session/cookie-header.js'
import { type IdentityResolverOptions, resolveIdentity } from '../session/resolve-identity.js'
import { StoreUnavailableError } from '../session/session-store.js'

export interface DownloadDecisionOptions {
  readonly routePrefix: string
  readonly cookieName: string
  readonly identity: IdentityResolverOptions
  readonly acl: { readonly current: RuleSet }
}

export type DownloadOutcome =
  | {
      readonly allow: true
      readonly record: DecisionRecord
      /** The canonical path's segments, as the file is named on disk. */
      readonly segments: readonly string[]
      readonly policy: DeliveryPolicy
    }
  | {
      readonly allow: false
      readonly record: DecisionRecord
      readonly error: FastifyError
      readonly headers?: Record<string, string>
    }

const ANONYMOUS: Subject = Object.freeze({ user: null, groups: Object.freeze([]) as readonly string[] })

// Why a request is anonymous decides which 401 it gets.
const ANONYMOUS_REFUSALS = {
  GW_ERR_NO_SESSION,
  GW_ERR_BAD_COOKIE,
  GW_ERR_SESSION_UNKNOWN,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
} as const

// `id@file:line` for logs, made once per rule rather than on every download.
const ruleLabels = new WeakMap<RuleRef, string>()
function ruleLabel(ref: RuleRef): string {
  let label = ruleLabels.get(ref)
  if (label === undefined) {
    label = `${ref.id}@${ref.file}:${ref.line}`
    ruleLabels.set(ref, label)
  }
  return label
}

/**
 * Decides one download. At most one session store read. Resolves to a refusal when the store is
 * down (fail closed: 503); rejects only on a bug, which the caller answers with 500.
 */
export async function decideDownload(
  rawUrl: string,
  cookieHeader: string | undefined,
  o: DownloadDecisionOptions,
): Promise<DownloadOutcome> {
  const canonical = canonicalizeRequestPath(rawUrl, o.routePrefix)
  if (!canonical.ok) {
    return {
      allow: false,
      record: { code: 'GW_ERR_BAD_PATH', detail: canonical.reason },
      error:
        canonical.reason === 'too-long' ? new GW_ERR_PATH_TOO_LONG() : new GW_ERR_BAD_PATH(canonical.reason),
    }
  }

  let subject = ANONYMOUS
  let anonymousReason: keyof typeof ANONYMOUS_REFUSALS = 'GW_ERR_NO_SESSION'
  try {
    const result = await resolveIdentity(readSentCookie(cookieHeader, o.cookieName), o.identity)
    if (result.ok) subject = result.identity
    else anonymousReason = result.reason
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err
    // Fail closed: without the store we cannot know who this is, so nobody gets a file.
    return {
      allow: false,
      record: { code: 'GW_ERR_STORE_UNAVAILABLE', path: canonical.path, detail: err.message },
      error: new GW_ERR_STORE_UNAVAILABLE(),
      headers: { 'retry-after': '1' },
    }
  }

  const decision = o.acl.current.decide(canonical.aclPath, subject)
  const record: DecisionRecord = {
    code: 'GW_ALLOW',
    path: canonical.path,
    user: subject.user,
    rule: decision.rule ? ruleLabel(decision.rule) : null,
    detail: decision.reason,
  }
  if (decision.allow) return { allow: true, record, segments: canonical.segments, policy: decision.policy }
  if (decision.policy.refusal === 404) {
    return { allow: false, record: { ...record, code: 'GW_ERR_HIDDEN' }, error: new GW_ERR_HIDDEN() }
  }
  if (subject.user === null) {
    return {
      allow: false,
      record: { ...record, code: anonymousReason },
      error: new ANONYMOUS_REFUSALS[anonymousReason](),
    }
  }
  return { allow: false, record: { ...record, code: 'GW_ERR_DENIED' }, error: new GW_ERR_DENIED() }
}
