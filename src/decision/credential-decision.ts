// Downloads by share link or access token, instead of a session. A link decides alone: genuine,
// unexpired, for this very path, not revoked, not used up, and the file goes out with the response
// policy the rules give its path. A token only says who is asking: the rules then decide for that
// user and groups exactly as for a session, inside the token's scope. The store is asked once per
// request, after every check that needs no I/O, and an unanswering store refuses (fail closed).
import { CredentialStoreUnavailableError, type LinkAdmission } from '../credentials/credential-store.js'
import { type LinkRefusal, verifyLink } from '../credentials/links/share-link.js'
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

/** Resolves to the outcome; rejects only on a bug. */
export async function finishWithCredential(
  d: CredentialDecision,
  o: DownloadDecisionOptions,
  c: CredentialOptions,
): Promise<DownloadOutcome> {
  try {
    return d.credential.kind === 'link'
      ? await decideLink(d.canonical, d.credential.token, o, c)
      : await decideToken(d.canonical, d.credential.token, o, c)
  } catch (err) {
    if (!(err instanceof CredentialStoreUnavailableError)) throw err
    const error = withFields(new GW_ERR_STORE_UNAVAILABLE(), { path: d.canonical.path, detail: err.message })
    return { allow: false, error }
  }
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

async function decideLink(
  canonical: CanonicalOk,
  token: string,
  o: DownloadDecisionOptions,
  c: CredentialOptions,
): Promise<DownloadOutcome> {
  if (c.linkKeys === null)
    return refused('link', new GW_ERR_LINK_UNKNOWN_KEY(), canonical, 'link: links are off')
  const check = verifyLink(token, canonical.aclPath, c.linkKeys, (c.now ?? nowSeconds)())
  if (!check.ok) return refused('link', new LINK_REFUSALS[check.why](), canonical, `link: ${check.why}`)
  const link = check.link
  const admission = await c.store.admitLink(link.id, link.maxDownloads, link.expiresAt)
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

async function decideToken(
  canonical: CanonicalOk,
  token: string,
  o: DownloadDecisionOptions,
  c: CredentialOptions,
): Promise<DownloadOutcome> {
  const id = tokenId(token)
  // Only the id is ever named: the token itself is a password.
  if (id === null) return refused('token', new GW_ERR_TOKEN_INVALID(), canonical, 'token: malformed')
  const record: TokenRecord | null = await c.store.getToken(id)
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
  const outcome = decideFor(canonical, { user: record.user, groups: record.groups }, o)
  if (outcome.allow)
    return {
      ...outcome,
      record: { ...outcome.record, detail: `${outcome.record.detail}, token ${id}`, credential: 'token' },
    }
  const fields = outcome.error.log ?? {}
  withFields(outcome.error, { ...fields, detail: `${fields.detail}, token ${id}`, credential: 'token' })
  return outcome
}
