// The download decision, apart from how it is answered: the raw request target and the Cookie
// header in, an outcome out. Data flows one way: raw path -> canonical path -> identity -> ACL.
// Synchronous steps around the one session read, which the route makes in between: from the
// client cache by callback when it can, through the store's get() otherwise (finishWithStore).
// Kept apart from the route (http/routes/download.ts) so what is decided can be read, and tested,
// apart from how the reply is written: nothing here knows Fastify.
import type { RuleRef, RuleSet, Subject } from '../acl/index.js'
import type { DeliveryPolicy } from '../delivery/accel-headers.js'
import {
  type DecisionRecord,
  type GatewayError,
  type GatewayErrorClass,
  GW_ERR_BAD_PATH,
  GW_ERR_DENIED,
  GW_ERR_HIDDEN,
  GW_ERR_NO_SESSION,
  GW_ERR_PATH_TOO_LONG,
  GW_ERR_STORE_UNAVAILABLE,
  withFields,
} from '../errors.js'
import { type CanonicalPath, canonicalizeRequestPath } from '../paths/canonical-path.js'
import { readSentCookie } from '../session/cookie-header.js'
import {
  type IdentityResolverOptions,
  identityFromStored,
  sessionNamedBy,
} from '../session/resolve-identity.js'
import { type SessionData, StoreUnavailableError } from '../session/session-store.js'

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
      /** The refusal, its decision line's fields on it (http/refuse.ts answers it). */
      readonly error: GatewayError
    }

type CanonicalOk = Extract<CanonicalPath, { ok: true }>

const ANONYMOUS: Subject = Object.freeze({ user: null, groups: Object.freeze([]) as readonly string[] })

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

/** A decision waiting for the session the cookie names. */
export interface PendingDecision {
  readonly pending: true
  readonly canonical: CanonicalOk
  readonly sessionId: string
}

/**
 * Everything that needs no I/O: the outcome itself, or the session to read before it can be
 * finished (finishDownloadDecision). Throws only on a bug.
 */
export function beginDownloadDecision(
  rawUrl: string,
  cookieHeader: string | undefined,
  o: DownloadDecisionOptions,
): DownloadOutcome | PendingDecision {
  const canonical = canonicalizeRequestPath(rawUrl, o.routePrefix)
  if (!canonical.ok) {
    const error =
      canonical.reason === 'too-long' ? new GW_ERR_PATH_TOO_LONG() : new GW_ERR_BAD_PATH(canonical.reason)
    return { allow: false, error: withFields(error, { detail: canonical.reason }) }
  }
  const named = sessionNamedBy(readSentCookie(cookieHeader, o.cookieName), o.identity)
  if (!named.ok) return decideFor(canonical, ANONYMOUS, named.reason, o)
  return { pending: true, canonical, sessionId: named.sessionId }
}

/** The outcome once the store has answered (null: it has no such session). */
export function finishDownloadDecision(
  p: PendingDecision,
  stored: SessionData | null,
  o: DownloadDecisionOptions,
): DownloadOutcome {
  const identity = identityFromStored(stored, o.identity)
  // A known user is never refused as anonymous: the reason passed with it goes unused.
  return identity.ok
    ? decideFor(p.canonical, identity.identity, GW_ERR_NO_SESSION, o)
    : decideFor(p.canonical, ANONYMOUS, identity.reason, o)
}

/**
 * Reads the session with the store's get() and finishes the decision. Resolves to a refusal when
 * the store is down (fail closed: 503); rejects only on a bug, which the caller answers with 500.
 */
export async function finishWithStore(
  p: PendingDecision,
  o: DownloadDecisionOptions,
): Promise<DownloadOutcome> {
  let stored: SessionData | null
  try {
    stored = await o.identity.store.get(p.sessionId)
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err
    // Fail closed: without the store we cannot know who this is, so nobody gets a file.
    const error = withFields(new GW_ERR_STORE_UNAVAILABLE(), { path: p.canonical.path, detail: err.message })
    return { allow: false, error }
  }
  return finishDownloadDecision(p, stored, o)
}

/** The ACL's word for this subject; `anonymousReason` says which 401 an anonymous refusal gets. */
function decideFor(
  canonical: CanonicalOk,
  subject: Subject,
  anonymousReason: GatewayErrorClass,
  o: DownloadDecisionOptions,
): DownloadOutcome {
  const decision = o.acl.current.decide(canonical.aclPath, subject)
  const record: DecisionRecord = {
    code: 'GW_ALLOW',
    path: canonical.path,
    user: subject.user,
    rule: decision.rule ? ruleLabel(decision.rule) : null,
    detail: decision.reason,
  }
  if (decision.allow) return { allow: true, record, segments: canonical.segments, policy: decision.policy }
  const Refusal =
    decision.policy.refusal === 404 ? GW_ERR_HIDDEN : subject.user === null ? anonymousReason : GW_ERR_DENIED
  return { allow: false, error: withFields(new Refusal(), record) }
}
