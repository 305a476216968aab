// Downloads by share link or access token, instead of a session. A link decides alone: genuine,
// unexpired, for this very path, not revoked, not used up, and the file goes out with the response
// policy the rules give its path. A token only says who is asking: the rules then decide for that
// user and groups exactly as for a session, inside the token's scope. The store is asked once per
// request, after every check that needs no I/O, and an unanswering store refuses (fail closed).
// The answer comes by callback, not through promises, as a session read's does: the chain of
// async functions it replaces was a measurable share of a link or token download's CPU.
import { CredentialStoreUnavailableError, type LinkAdmission } from '../credentials/credential-store.js'
import { type LinkRefusal, type VerifiedLink, verifyLink } from '../credentials/links/share-link.js'
import { inScope, type TokenRecord, tokenId, tokenMatches } from '../credentials/tokens/access-token.js'
import {
  type GatewayError,
  type GatewayErrorClass,
  GW_ERR_LINK_BAD_SIGNATURE,
  GW_ERR_LINK_EXPIRED,
  GW_ERR_LINK_MALFORMED,
  GW_ERR_LINK_REVOKED,
  GW_ERR_LINK_UNKNOWN_KEY,
  GW_ERR_LINK_USED_UP,
  GW_ERR_LINK_WRONG_PATH,
  GW_ERR_STORE_UNAVAILABLE,
  GW_ERR_TOKEN_EXPIRED,
  GW_ERR_TOKEN_INVALID,
  GW_ERR_TOKEN_OUT_OF_SCOPE,
  GW_ERR_TOKEN_REVOKED,
  withFields,
} from '../errors.js'
import {
  type CanonicalOk,
  type CredentialDecision,
  type CredentialOptions,
  type DownloadDecisionOptions,
  type DownloadOutcome,
  decideFor,
} from './download-decision.js'

const LINK_REFUSALS: Readonly<Record<LinkRefusal | Exclude<LinkAdmission, 'ok'>, GatewayErrorClass>> = {
  malformed: GW_ERR_LINK_MALFORMED,
  'unknown-key': GW_ERR_LINK_UNKNOWN_KEY,
  'bad-signature': GW_ERR_LINK_BAD_SIGNATURE,
  expired: GW_ERR_LINK_EXPIRED,
  'wrong-path': GW_ERR_LINK_WRONG_PATH,
  revoked: GW_ERR_LINK_REVOKED,
  'used-up': GW_ERR_LINK_USED_UP,
}

const nowSeconds = () => Math.floor(Date.now() / 1000)

/** The outcome; an Error only for a bug while deciding (refusals are outcomes). */
export type CredentialAnswer = (result: DownloadOutcome | Error) => void

/**
 * Calls `answer` exactly once, maybe before returning (nothing to ask the store, or a store that
 * answers at once). `answer` must not throw: it may run in the store's promise reaction.
 */
export function decideWithCredential(
  d: CredentialDecision,
  o: DownloadDecisionOptions,
  c: CredentialOptions,
  answer: CredentialAnswer,
): void {
  try {
    if (d.credential.kind === 'link') decideLink(d.canonical, d.credential.token, o, c, answer)
    else decideToken(d.canonical, d.credential.token, o, c, answer)
  } catch (err) {
    answer(asError(err))
  }
}

/** The store's answer turned into the outcome by `decide`, inside a guard: a bug is answered too. */
function afterStore<T>(
  canonical: CanonicalOk,
  answer: CredentialAnswer,
  decide: (answered: T) => DownloadOutcome,
): (answered: T | CredentialStoreUnavailableError) => void {
  return (answered) => {
    let result: DownloadOutcome | Error
    try {
      result =
        answered instanceof CredentialStoreUnavailableError
          ? {
              allow: false,
              error: withFields(new GW_ERR_STORE_UNAVAILABLE(), {
                path: canonical.path,
                detail: answered.message,
              }),
            }
          : decide(answered)
    } catch (err) {
      result = asError(err)
    }
    answer(result)
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

function refused(
  credential: 'link' | 'token',
  error: GatewayError,
  canonical: CanonicalOk,
  detail: string,
  user: string | null = null,
) {
  return {
    allow: false as const,
    error: withFields(error, { path: canonical.path, user, rule: null, detail, credential }),
  }
}

function decideLink(
  canonical: CanonicalOk,
  token: string,
  o: DownloadDecisionOptions,
  c: CredentialOptions,
  answer: CredentialAnswer,
): void {
  if (c.linkKeys === null) {
    answer(refused('link', new GW_ERR_LINK_UNKNOWN_KEY(), canonical, 'link: links are off'))
    return
  }
  const check = verifyLink(token, canonical.aclPath, c.linkKeys, (c.now ?? nowSeconds)())
  if (!check.ok) {
    answer(refused('link', new LINK_REFUSALS[check.why](), canonical, `link: ${check.why}`))
    return
  }
  const link = check.link
  c.store.admitLinkByCallback(
    link.id,
    link.maxDownloads,
    link.expiresAt,
    afterStore(canonical, answer, (admission: LinkAdmission) => linkOutcome(canonical, link, admission, o)),
  )
}

function linkOutcome(
  canonical: CanonicalOk,
  link: VerifiedLink,
  admission: LinkAdmission,
  o: DownloadDecisionOptions,
): DownloadOutcome {
  const label = `link:${link.id}`
  if (admission !== 'ok') {
    const error = new LINK_REFUSALS[admission]()
    return {
      allow: false,
      error: withFields(error, {
        path: canonical.path,
        user: link.issuer,
        rule: label,
        detail: `link: ${admission}`,
        credential: 'link',
      }),
    }
  }
  // The rules are not asked who may read the file (the link says), only how it is delivered.
  const policy = o.acl.current.decide(canonical.aclPath, { user: link.issuer, groups: [] }).policy
  return {
    allow: true,
    record: {
      code: 'GW_ALLOW',
      path: canonical.path,
      user: link.issuer,
      rule: label,
      detail: `link, key ${link.kid}`,
      credential: 'link',
    },
    segments: canonical.segments,
    policy,
  }
}

function decideToken(
  canonical: CanonicalOk,
  token: string,
  o: DownloadDecisionOptions,
  c: CredentialOptions,
  answer: CredentialAnswer,
): void {
  const id = tokenId(token)
  // Only the id is ever named: the token itself is a password.
  if (id === null) {
    answer(refused('token', new GW_ERR_TOKEN_INVALID(), canonical, 'token: malformed'))
    return
  }
  c.store.getTokenByCallback(
    id,
    afterStore(canonical, answer, (record: TokenRecord | null) =>
      tokenOutcome(canonical, token, id, record, o, c),
    ),
  )
}

function tokenOutcome(
  canonical: CanonicalOk,
  token: string,
  id: string,
  record: TokenRecord | null,
  o: DownloadDecisionOptions,
  c: CredentialOptions,
): DownloadOutcome {
  if (record === null || !tokenMatches(token, record))
    return refused('token', new GW_ERR_TOKEN_INVALID(), canonical, `token ${id}: unknown`)
  if (record.revoked)
    return refused('token', new GW_ERR_TOKEN_REVOKED(), canonical, `token ${id}: revoked`, record.user)
  if (record.expiresAt <= (c.now ?? nowSeconds)())
    return refused('token', new GW_ERR_TOKEN_EXPIRED(), canonical, `token ${id}: expired`, record.user)
  if (!inScope(record.scope, canonical.aclPath))
    return refused(
      'token',
      new GW_ERR_TOKEN_OUT_OF_SCOPE(),
      canonical,
      `token ${id}: outside ${record.scope}`,
      record.user,
    )
  return decideFor(canonical, { user: record.user, groups: record.groups }, o, undefined, {
    credential: 'token',
    detail: `token ${id}`,
  })
}
