// Where the brute-force throttles (src/throttle/) meet the routes: the login asks before it checks
// a password, the download counts link and token values that did not verify. Session downloads
// never come here. Both answer through the one refusal path, as GW_ERR_RATE_LIMITED with
// Retry-After.
//
// When the counters cannot answer (Redis away), the login fails closed (503: a guesser must not
// get unlimited tries while the counts are out of reach, and the login's own sessions live in
// that Redis anyway) and downloads fail open (the guess is refused as it would be, only not
// counted: a limiter outage must not take downloads down).
import type { FastifyRequest } from 'fastify'
import { tokenId } from '../credentials/tokens/access-token.js'
import type { CredentialDecision, DownloadOutcome } from '../decision/download-decision.js'
import {
  type DecisionFields,
  type GatewayError,
  GW_ERR_RATE_LIMITED,
  GW_ERR_STORE_UNAVAILABLE,
  withFields,
  withRetryAfter,
} from '../errors.js'
import { CountersUnavailableError } from '../throttle/attempt-counters.js'
import { clientNetwork } from '../throttle/client-network.js'
import type { CredentialThrottle } from '../throttle/credential-throttle.js'
import type { Throttled } from '../throttle/limits.js'
import type { LoginThrottle } from '../throttle/login-throttle.js'

/** Refusals of values that could not be verified at all: what a guess gets. */
const GUESSED = new Set([
  'GW_ERR_LINK_MALFORMED',
  'GW_ERR_LINK_BAD_SIGNATURE',
  'GW_ERR_LINK_UNKNOWN_KEY',
  'GW_ERR_TOKEN_INVALID',
])

/** `about`: what was counted beside the address, for the line (a token id, never a secret). */
export function throttledRefusal(throttled: Throttled, fields: DecisionFields, about?: string): GatewayError {
  const detail = `rate limit: ${throttled.limit}${about ? `, ${about}` : ''}`
  return withRetryAfter(
    withFields(new GW_ERR_RATE_LIMITED(), { ...fields, detail }),
    throttled.retryAfterSeconds,
  )
}

/**
 * Before a link or token is verified: a network over its limit is refused without a look at the
 * value. Null: go on and verify. No I/O.
 */
export function credentialBlocked(
  request: FastifyRequest,
  throttle: CredentialThrottle,
  begun: CredentialDecision,
): DownloadOutcome | null {
  const blocked = throttle.blocked(clientNetwork(request.ip))
  if (blocked === null) return null
  const credential = begun.credential.kind === 'link' ? 'link' : 'token'
  return { allow: false, error: throttledRefusal(blocked, { path: begun.canonical.path, credential }) }
}

/** Whether the outcome refused a value that could not be verified at all: a guess, to count. */
export function isGuess(outcome: DownloadOutcome): boolean {
  return !outcome.allow && GUESSED.has(outcome.error.code)
}

/**
 * After: a value that did not verify (isGuess) is counted, and answered 429 once over a limit.
 * Only guesses come here, so a genuine link or token never waits for the counters.
 */
export async function countGuess(
  request: FastifyRequest,
  throttle: CredentialThrottle,
  begun: CredentialDecision,
  outcome: DownloadOutcome & { readonly allow: false },
): Promise<DownloadOutcome> {
  const network = clientNetwork(request.ip)
  const credential = begun.credential.kind === 'link' ? 'link' : 'token'
  const path = begun.canonical.path
  const id = credential === 'token' ? tokenId(begun.credential.token) : null
  try {
    const throttled = await throttle.failed(network, id)
    if (throttled === null) return outcome
    const about = id === null ? undefined : `token ${id}`
    return { allow: false, error: throttledRefusal(throttled, { path, credential }, about) }
  } catch (err) {
    if (!(err instanceof CountersUnavailableError)) throw err
    const fields = outcome.error.log ?? {}
    withFields(outcome.error, { ...fields, detail: `${fields.detail}; not counted: ${err.message}` })
    return outcome
  }
}

export type LoginAdmission =
  | { readonly refusal: GatewayError }
  | { readonly refusal: null; succeeded(): Promise<void> }

const NOTHING_TO_COUNT: LoginAdmission = { refusal: null, succeeded: async () => {} }

/** Whether this login may check its password; reserves it as a failure until it succeeds. */
export async function admitLogin(
  request: FastifyRequest,
  throttle: LoginThrottle | undefined,
  username: string,
): Promise<LoginAdmission> {
  if (throttle === undefined) return NOTHING_TO_COUNT
  try {
    const attempt = await throttle.begin(username, clientNetwork(request.ip))
    if (attempt.throttled !== null)
      return { refusal: throttledRefusal(attempt.throttled, { user: username }) }
    return {
      refusal: null,
      // The login has succeeded whatever happens here: an uncounted refund only leaves a failure
      // counted that was not one.
      succeeded: () => attempt.succeeded().catch(() => {}),
    }
  } catch (err) {
    if (!(err instanceof CountersUnavailableError)) throw err
    return { refusal: withFields(new GW_ERR_STORE_UNAVAILABLE(), { user: username, detail: err.message }) }
  }
}
