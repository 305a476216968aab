// The download decision, apart from how it is answered: the raw request target and the Cookie
// header in, an outcome out. Data flows one way: raw path -> canonical path -> identity -> ACL.
// Synchronous steps around the one session read, which the route makes in between: by callback
// when the session source can answer from memory, through its read() otherwise (finishWithRead).
// Kept apart from the route (http/routes/download.ts) so what is decided can be read, and tested,
// apart from how the reply is written: nothing here knows Fastify.
import type { Decision, RuleRef, RuleSet, Subject } from '../acl/index.js'
import type { CredentialStore } from '../credentials/credential-store.js'
import type { LinkKeyRing } from '../credentials/links/link-keys.js'
import { linkParam } from '../credentials/links/share-link.js'
import { bearerToken } from '../credentials/tokens/access-token.js'
import type { DeliveryPolicy } from '../delivery/accel-headers.js'
import {
  type DecisionRecord,
  type GatewayError,
  GW_ERR_BAD_PATH,
  GW_ERR_DENIED,
  GW_ERR_HIDDEN,
  GW_ERR_NO_SESSION,
  GW_ERR_PATH_TOO_LONG,
  GW_ERR_STORE_UNAVAILABLE,
  withFields,
} from '../errors.js'
import { type CanonicalPath, canonicalizeRequestPath, type PathRefusal } from '../paths/canonical-path.js'
import {
  type IdentityResult,
  isPendingRead,
  type NoIdentity,
  type PendingRead,
  type SessionSource,
} from '../session/session-source.js'
import { StoreUnavailableError } from '../session/session-store.js'

export interface DownloadDecisionOptions {
  readonly routePrefix: string
  /** Who is asking: the main app's session, read the way the app writes it. */
  readonly source: SessionSource
  readonly acl: { readonly current: RuleSet }
  /** Share links and access tokens; without it a `gwl` query or a Bearer header is ignored. */
  readonly credentials?: CredentialOptions
}

export interface CredentialOptions {
  readonly store: CredentialStore
  /** Null: links are off, and every link is refused as signed with an unknown key. */
  readonly linkKeys: LinkKeyRing | null
  /** Unix seconds; tests move it. */
  readonly now?: () => number
}

/** A share link or Bearer token to check instead of the session (credential-decision.ts). */
export interface CredentialDecision {
  readonly credential: { readonly kind: 'link' | 'bearer'; readonly token: string }
  readonly canonical: CanonicalOk
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

export type CanonicalOk = Extract<CanonicalPath, { ok: true }>

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

/** A decision waiting for the session source's read. */
export interface PendingDecision {
  readonly pending: true
  readonly canonical: CanonicalOk
  readonly read: PendingRead
}

/**
 * Everything that needs no I/O: the outcome itself, or the session to read before it can be
 * finished (finishDownloadDecision). Throws only on a bug.
 */
export function beginDownloadDecision(
  rawUrl: string,
  cookieHeader: string | undefined,
  o: DownloadDecisionOptions,
  authorization?: string,
): DownloadOutcome | PendingDecision | CredentialDecision {
  const canonical = canonicalizeRequestPath(rawUrl, o.routePrefix)
  if (!canonical.ok) return pathRefusal(canonical.reason)
  // A link or token decides alone: a session cookie beside it neither adds nor takes away.
  if (o.credentials !== undefined) {
    const credential = credentialIn(rawUrl, authorization)
    if (credential !== undefined) return { credential, canonical }
  }
  const identified = o.source.identify(cookieHeader)
  if (isPendingRead(identified)) return { pending: true, canonical, read: identified }
  return finishDownloadDecision(canonical, identified, o)
}

/** The share link in the query (`gwl`), else a Bearer token; other Authorization schemes are ignored. */
function credentialIn(
  rawUrl: string,
  authorization: string | undefined,
): CredentialDecision['credential'] | undefined {
  const queryAt = rawUrl.indexOf('?')
  if (queryAt !== -1) {
    const token = linkParam(rawUrl.slice(queryAt + 1))
    if (token !== undefined) return { kind: 'link', token }
  }
  if (authorization === undefined) return undefined
  const token = bearerToken(authorization)
  return token === undefined ? undefined : { kind: 'bearer', token }
}

/** The outcome once the source has said who is asking. */
export function finishDownloadDecision(
  canonical: CanonicalOk,
  identity: IdentityResult,
  o: DownloadDecisionOptions,
): DownloadOutcome {
  return identity.ok
    ? decideFor(canonical, identity.identity, o)
    : decideFor(canonical, ANONYMOUS, o, identity)
}

/**
 * Makes the source's read and finishes the decision. Resolves to a refusal when the store is down
 * (fail closed: 503); rejects only on a bug, which the caller answers with 500.
 */
export async function finishWithRead(
  p: PendingDecision,
  o: DownloadDecisionOptions,
): Promise<DownloadOutcome> {
  let identity: IdentityResult
  try {
    identity = await o.source.read(p.read)
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err
    return storeUnavailable(p, err)
  }
  return finishDownloadDecision(p.canonical, identity, o)
}

/**
 * Finishes the decision with what the source's read answered by callback (readByCallback): the
 * same outcomes as finishWithRead. Throws only on a bug (an Error other than StoreUnavailableError).
 */
export function finishWithAnswer(
  p: PendingDecision,
  answered: IdentityResult | Error,
  o: DownloadDecisionOptions,
): DownloadOutcome {
  if (!(answered instanceof Error)) return finishDownloadDecision(p.canonical, answered, o)
  if (answered instanceof StoreUnavailableError) return storeUnavailable(p, answered)
  throw answered
}

/** Fail closed: without the store we cannot know who this is, so nobody gets a file. */
function storeUnavailable(p: PendingDecision, err: StoreUnavailableError): DownloadOutcome {
  const error = withFields(new GW_ERR_STORE_UNAVAILABLE(), { path: p.canonical.path, detail: err.message })
  return { allow: false, error }
}

function pathRefusal(reason: PathRefusal): DownloadOutcome {
  const error = reason === 'too-long' ? new GW_ERR_PATH_TOO_LONG() : new GW_ERR_BAD_PATH(reason)
  return { allow: false, error: withFields(error, { detail: reason }) }
}

/** What `cli explain` shows: the steps of a decision, each one the gateway's own. */
export interface ExplainedDownload {
  readonly outcome: DownloadOutcome
  /** The canonical path, unless the request target was refused. */
  readonly canonical?: CanonicalOk
  /** The ACL's decision, unless the request target was refused. */
  readonly decision?: Decision
}

/**
 * The outcome for a request without a session (`subject` anonymous) or with the session of a
 * known `subject`, with no session source: what `cli explain` prints, by the same steps.
 */
export function explainDownload(
  rawUrl: string,
  subject: Subject,
  o: Pick<DownloadDecisionOptions, 'routePrefix' | 'acl'>,
): ExplainedDownload {
  const canonical = canonicalizeRequestPath(rawUrl, o.routePrefix)
  if (!canonical.ok) return { outcome: pathRefusal(canonical.reason) }
  const decision = o.acl.current.decide(canonical.aclPath, subject)
  return { outcome: outcomeOf(canonical, subject, decision, 'no session'), canonical, decision }
}

/**
 * The ACL's word for this subject. `nobody` says why a request is anonymous: which 401 it gets,
 * and what its line says of the source.
 */
/** A credential that named the subject (an access token): said in the decision line. */
export interface SubjectFrom {
  readonly credential: 'token'
  /** Appended to the line's detail (`token <id>`). */
  readonly detail: string
}

export function decideFor(
  canonical: CanonicalOk,
  subject: Subject,
  o: DownloadDecisionOptions,
  nobody?: NoIdentity,
  from?: SubjectFrom,
): DownloadOutcome {
  const decision = o.acl.current.decide(canonical.aclPath, subject)
  return outcomeOf(canonical, subject, decision, o.source.name, nobody, from)
}

function outcomeOf(
  canonical: CanonicalOk,
  subject: Subject,
  decision: Decision,
  sourceName: string,
  nobody?: NoIdentity,
  from?: SubjectFrom,
): DownloadOutcome {
  const rule = decision.rule ? ruleLabel(decision.rule) : null
  // Built whole, once: copying a finished record to add the credential (object spread) was a
  // measurable share of a token download's Node CPU.
  const record: DecisionRecord =
    from === undefined
      ? { code: 'GW_ALLOW', path: canonical.path, user: subject.user, rule, detail: decision.reason }
      : {
          code: 'GW_ALLOW',
          path: canonical.path,
          user: subject.user,
          rule,
          detail: `${decision.reason}, ${from.detail}`,
          credential: from.credential,
        }
  if (decision.allow) return { allow: true, record, segments: canonical.segments, policy: decision.policy }
  if (decision.policy.refusal === 404) return { allow: false, error: withFields(new GW_ERR_HIDDEN(), record) }
  if (subject.user !== null) return { allow: false, error: withFields(new GW_ERR_DENIED(), record) }
  const source = nobody?.why === undefined ? sourceName : `${sourceName}: ${nobody.why}`
  const error = new (nobody?.reason ?? GW_ERR_NO_SESSION)()
  return { allow: false, error: withFields(error, { ...record, detail: `${decision.reason}, ${source}` }) }
}
