// Every refusal and failure the gateway can answer with, in one place. The code is what the
// decision log line, the metrics and the client all see, so keep codes stable once released.
import createError from '@fastify/error'

// Request path problems: answered before any session or ACL work.
export const GW_ERR_BAD_PATH = createError('GW_ERR_BAD_PATH', 'Bad download path (%s)', 400)
export const GW_ERR_PATH_TOO_LONG = createError('GW_ERR_BAD_PATH', 'Download path too long', 414)
// Anything the router itself rejects (a malformed URL) or a body it cannot parse.
export const GW_ERR_BAD_REQUEST = createError('GW_ERR_BAD_REQUEST', 'Bad request', 400)
export const GW_ERR_NO_ROUTE = createError('GW_ERR_NO_ROUTE', 'Not found', 404)

// Identity problems.
export const GW_ERR_NO_SESSION = createError('GW_ERR_NO_SESSION', 'Login required', 401)
export const GW_ERR_BAD_COOKIE = createError('GW_ERR_BAD_COOKIE', 'Login required', 401)
export const GW_ERR_SESSION_UNKNOWN = createError('GW_ERR_SESSION_UNKNOWN', 'Login required', 401)
export const GW_ERR_SESSION_EXPIRED = createError('GW_ERR_SESSION_EXPIRED', 'Login required', 401)
export const GW_ERR_SESSION_NO_USER = createError('GW_ERR_SESSION_NO_USER', 'Login required', 401)

// Access decisions.
export const GW_ERR_DENIED = createError('GW_ERR_DENIED', 'Forbidden', 403)
export const GW_ERR_HIDDEN = createError('GW_ERR_HIDDEN', 'Not found', 404)

// Direct (development) delivery only: the gateway itself looks at the file.
export const GW_ERR_NOT_FOUND = createError('GW_ERR_NOT_FOUND', 'Not found', 404)

// Fail closed: when the session store cannot answer, nobody gets a file.
export const GW_ERR_STORE_UNAVAILABLE = createError('GW_ERR_STORE_UNAVAILABLE', 'Service unavailable', 503)

// Method and login.
export const GW_ERR_METHOD = createError('GW_ERR_METHOD', 'Method not allowed', 405)
export const GW_ERR_LOGIN_FAILED = createError('GW_ERR_LOGIN_FAILED', 'Invalid user name or password', 401)
export const GW_ERR_LOGIN_BAD_REQUEST = createError(
  'GW_ERR_LOGIN_BAD_REQUEST',
  'username and password are required',
  400,
)

// A bug: logged with its stack, answered without details.
export const GW_ERR_INTERNAL = createError('GW_ERR_INTERNAL', 'Internal error', 500)
