// Every refusal and failure the gateway can answer with, in one place. The code is what the
// decision log line, the metrics and the client all see, so keep codes stable once released.
//
// A refusal is one value: an instance of one of these classes carries its code, its status, the
// headers that always go with it, and (set by whoever refuses) the fields of its decision line.
// http/refuse.ts records and answers it in one call, so no code string is written twice.
// Adding a code: one line here, one row in docs/reason-codes.md (a test checks both).
import createError, { type FastifyError, type FastifyErrorConstructor } from '@fastify/error'

/** What a decision line says beside the code. Never a secret: no cookie, session id or token. */
export interface DecisionFields {
  readonly path?: string
  readonly user?: string | null
  readonly rule?: string | null
  readonly detail?: string
  /** The credential that decided, when it was not a session: counted by the metrics. */
  readonly credential?: 'link' | 'token'
}

/** A decision line's code and fields: what a handler decided, written once the reply is final. */
export interface DecisionRecord extends DecisionFields {
  readonly code: string
}

export interface GatewayError extends FastifyError {
  /** Headers every reply with this code carries (Allow, Retry-After). */
  readonly headers?: Readonly<Record<string, string>>
  /** The decision line's fields, when the refuser knows more than the code. */
  log?: DecisionFields
}

export type GatewayErrorClass = FastifyErrorConstructor & (new (...args: unknown[]) => GatewayError)

function code(
  name: string,
  message: string,
  status: number,
  headers?: Record<string, string>,
): GatewayErrorClass {
  // No stack trace: a refusal is a decision, not a fault, and nothing ever prints its stack (the
  // decision line names the code and fields; a real fault is logged with its own error). Capturing
  // one cost about 3 us per refusal, most of what made a 403 dearer than an allowed download.
  const ErrorClass = createError(name, message, status, Error, false) as GatewayErrorClass
  // On the prototype: one frozen object shared by every instance, nothing copied per refusal.
  if (headers) Object.defineProperty(ErrorClass.prototype, 'headers', { value: Object.freeze(headers) })
  return ErrorClass
}

/** `error` answered with `Retry-After: seconds` (when it depends on the moment, as a 429's does). */
export function withRetryAfter<E extends GatewayError>(error: E, seconds: number): E {
  // On the instance, over the class's shared headers.
  Object.defineProperty(error, 'headers', { value: { ...error.headers, 'retry-after': String(seconds) } })
  return error
}

/** `error` with its decision line's fields; returns it, for `return refusal(new X(), {...})`. */
export function withFields<E extends GatewayError>(error: E, fields: DecisionFields): E {
  error.log = fields
  return error
}

// Request path problems: answered before any session or ACL work.
export const GW_ERR_BAD_PATH = code('GW_ERR_BAD_PATH', 'Bad download path (%s)', 400)
export const GW_ERR_PATH_TOO_LONG = code('GW_ERR_PATH_TOO_LONG', 'Download path too long', 414)
// Anything the router itself rejects (a malformed URL) or a body it cannot parse.
export const GW_ERR_BAD_REQUEST = code('GW_ERR_BAD_REQUEST', 'Bad request', 400)
export const GW_ERR_NO_ROUTE = code('GW_ERR_NO_ROUTE', 'Not found', 404)

// Refused by Node's HTTP parser before Fastify saw a request (http/early-refusals.ts): the
// connection is closed after the answer. A broken body framing (a bad chunk) is a GW_ERR_BAD_REQUEST.
export const GW_ERR_BAD_REQUEST_LINE = code('GW_ERR_BAD_REQUEST_LINE', 'Bad request line', 400)
export const GW_ERR_BAD_HEADER = code('GW_ERR_BAD_HEADER', 'Bad request header', 400)
export const GW_ERR_HEADER_TOO_LARGE = code(
  'GW_ERR_HEADER_TOO_LARGE',
  'Request line or header fields too large',
  431,
)
export const GW_ERR_REQUEST_TIMEOUT = code('GW_ERR_REQUEST_TIMEOUT', 'Request not received in time', 408)
export const GW_ERR_EXPECTATION = code('GW_ERR_EXPECTATION', 'Expectation not supported', 417)

// Identity problems.
export const GW_ERR_NO_SESSION = code('GW_ERR_NO_SESSION', 'Login required', 401)
export const GW_ERR_BAD_COOKIE = code('GW_ERR_BAD_COOKIE', 'Login required', 401)
export const GW_ERR_SESSION_UNKNOWN = code('GW_ERR_SESSION_UNKNOWN', 'Login required', 401)
export const GW_ERR_SESSION_EXPIRED = code('GW_ERR_SESSION_EXPIRED', 'Login required', 401)
export const GW_ERR_SESSION_NO_USER = code('GW_ERR_SESSION_NO_USER', 'Login required', 401)
// The session exists but its data is refused: hostile or broken (truncated, bad syntax, too large),
// or holding a PHP object under `objects: refuse`. Why is in the decision line.
export const GW_ERR_SESSION_UNREADABLE = code('GW_ERR_SESSION_UNREADABLE', 'Login required', 401)
// The session names a user the app's own auth no longer accepts (Django's auth tables: the user
// is gone, inactive, or changed password since the session began). Why is in the decision line.
export const GW_ERR_SESSION_USER_REVOKED = code('GW_ERR_SESSION_USER_REVOKED', 'Login required', 401)

// Access decisions.
export const GW_ERR_DENIED = code('GW_ERR_DENIED', 'Forbidden', 403)
export const GW_ERR_HIDDEN = code('GW_ERR_HIDDEN', 'Not found', 404)

// Share links (docs/links-and-tokens.md): 401 when the link cannot be trusted at all, 403 when
// it is genuine but names another file, 410 Gone when it was good and is no longer.
export const GW_ERR_LINK_MALFORMED = code('GW_ERR_LINK_MALFORMED', 'Invalid download link', 401)
export const GW_ERR_LINK_BAD_SIGNATURE = code('GW_ERR_LINK_BAD_SIGNATURE', 'Invalid download link', 401)
export const GW_ERR_LINK_UNKNOWN_KEY = code('GW_ERR_LINK_UNKNOWN_KEY', 'Invalid download link', 401)
export const GW_ERR_LINK_WRONG_PATH = code('GW_ERR_LINK_WRONG_PATH', 'This link is for another file', 403)
export const GW_ERR_LINK_EXPIRED = code('GW_ERR_LINK_EXPIRED', 'This download link has expired', 410)
export const GW_ERR_LINK_USED_UP = code('GW_ERR_LINK_USED_UP', 'This download link has been used up', 410)
export const GW_ERR_LINK_REVOKED = code('GW_ERR_LINK_REVOKED', 'This download link has been revoked', 410)

// Access tokens for scripts (Authorization: Bearer).
export const GW_ERR_TOKEN_INVALID = code('GW_ERR_TOKEN_INVALID', 'Invalid access token', 401, {
  'www-authenticate': 'Bearer error="invalid_token"',
})
export const GW_ERR_TOKEN_EXPIRED = code('GW_ERR_TOKEN_EXPIRED', 'Access token expired', 401, {
  'www-authenticate': 'Bearer error="invalid_token"',
})
export const GW_ERR_TOKEN_REVOKED = code('GW_ERR_TOKEN_REVOKED', 'Access token revoked', 401, {
  'www-authenticate': 'Bearer error="invalid_token"',
})
export const GW_ERR_TOKEN_OUT_OF_SCOPE = code('GW_ERR_TOKEN_OUT_OF_SCOPE', "Outside the token's scope", 403)

// Too many failed logins, or link and token values that did not verify (docs/security.md): the
// reply's Retry-After says when the window ends; the line's detail says which limit.
export const GW_ERR_RATE_LIMITED = code(
  'GW_ERR_RATE_LIMITED',
  'Too many failed attempts; try again later',
  429,
)

// A logged-in user sharing a file: the rule under it does not allow sharing, or not for that long.
export const GW_ERR_SHARE_NOT_ALLOWED = code(
  'GW_ERR_SHARE_NOT_ALLOWED',
  'Sharing this file is not allowed',
  403,
)
// Issuing endpoints take JSON only: a cross-site HTML form cannot send it (no CSRF by form post).
export const GW_ERR_UNSUPPORTED_MEDIA = code('GW_ERR_UNSUPPORTED_MEDIA', 'Send application/json', 415)

// The admin listener.
export const GW_ERR_ADMIN_UNAUTHORIZED = code('GW_ERR_ADMIN_UNAUTHORIZED', 'Admin token required', 401)

// Direct (development) delivery only: the gateway itself looks at the file.
export const GW_ERR_NOT_FOUND = code('GW_ERR_NOT_FOUND', 'Not found', 404)

// Fail closed: when the session store cannot answer, nobody gets a file.
export const GW_ERR_STORE_UNAVAILABLE = code('GW_ERR_STORE_UNAVAILABLE', 'Service unavailable', 503, {
  'retry-after': '1',
})

// A probe (/readyz, /healthz): a check failed; the message names which ones, the line says why.
export const GW_ERR_NOT_READY = code('GW_ERR_NOT_READY', 'Not ready: %s', 503, { 'retry-after': '1' })

// Method and login.
export const GW_ERR_METHOD = code('GW_ERR_METHOD', 'Method not allowed', 405, { allow: 'GET, HEAD' })
export const GW_ERR_LOGIN_FAILED = code('GW_ERR_LOGIN_FAILED', 'Invalid user name or password', 401)
// The session cookie is Secure-only and the login came over plain HTTP (or through a proxy that
// server.trust_proxy does not name): the browser would drop the cookie, so no session is made.
export const GW_ERR_LOGIN_NEEDS_HTTPS = code(
  'GW_ERR_LOGIN_NEEDS_HTTPS',
  'Login needs HTTPS: the session cookie is Secure-only and this request came over plain HTTP',
  403,
)
export const GW_ERR_LOGIN_BAD_REQUEST = code(
  'GW_ERR_LOGIN_BAD_REQUEST',
  'username and password are required',
  400,
)

// A browser's form post to the built-in login (or logout) without the token of the form the
// gateway served it: another site made the browser send it, or the form is older than a reload of
// the session secrets.
export const GW_ERR_LOGIN_CSRF = code(
  'GW_ERR_LOGIN_CSRF',
  'This form has expired or was sent from another site: open the login page again',
  403,
)

// A bug: logged with its stack, answered without details.
export const GW_ERR_INTERNAL = code('GW_ERR_INTERNAL', 'Internal error', 500)
