// The example user's password is printed in the README so that the quick start works: anyone who
// has read it can log in as any user that still has it. The gateway refuses to start with such a
// user unless the config says it is a development one (login.allow_published_password, set by
// config/gateway.yaml only). The hash is checked, not the user name: a copied users file or the
// password hashed again under another name is caught as well.
import type { GatewayConfig } from '../config/gateway-config.js'
import { verifyPassword } from './password-hash.js'
import type { LoginUser } from './users-file.js'

/** The password the README gives for the example user. */
export const PUBLISHED_PASSWORD = 'demo-download-1'

/**
 * Users whose password is the published one. One key derivation per user at that user's cost
 * (about 0.1 s at the default); Node runs them side by side on its thread pool.
 */
export async function usersWithPublishedPassword(
  users: ReadonlyMap<string, LoginUser>,
): Promise<LoginUser[]> {
  const all = [...users.values()]
  const matches = await Promise.all(all.map((u) => verifyPassword(PUBLISHED_PASSWORD, u.hash)))
  return all.filter((_, i) => matches[i])
}

/** The one-line reason not to start, or undefined when the users may be served. */
export async function publishedPasswordRefusal(
  login: GatewayConfig['login'],
  users: ReadonlyMap<string, LoginUser> | undefined,
): Promise<string | undefined> {
  if (!users || !login.enabled || login.allowPublishedPassword) return undefined
  const found = await usersWithPublishedPassword(users)
  const first = found[0]
  if (!first) return undefined
  const names = found.map((u) => `"${u.id}"`).join(', ')
  return (
    `${login.usersFile}:${first.line} users: ${names} ${found.length === 1 ? 'has' : 'have'} the example ` +
    `password published in the README, so anyone can log in as ${found.length === 1 ? 'it' : 'them'}: ` +
    `set a new one (printf '%s' 'new password' | download-gateway hash-password) or remove the user ` +
    '(only a development config may set login.allow_published_password)'
  )
}
