// How a stateless cookie source (Flask, Django signed_cookies, Rails) meets the contract. Its
// session lives only in the cookie: the app's logout makes the browser drop it, but nothing
// server-side remembers that, so a copy of the cookie stays valid. The one server-side way to
// end such a session is to rotate its secret out of the gateway's key list, so `logout` here is
// that rotation: a new secret signs from then on, and the source is rebuilt (as a restart with
// the new environment would) without the secret that signed the cookie. docs/sessions.md says
// what this means for operators.
import type { SessionSource } from '../../src/session/session-source.js'
import type { SourceUnderTest } from './session-source.js'

export interface StatelessApp {
  readonly cookieName: string
  /** The source reading cookies signed with any of `secrets` (newest first). */
  build(secrets: readonly string[]): SessionSource
  /** Has the real framework write a session with `secret`, signed `signedAgoS` seconds ago. */
  write(secret: string, user: string | null, groups: readonly string[], signedAgoS: number): Promise<string>
  /** How far back a session must be signed to have expired by the app's rules. */
  readonly expiredAgoS: number
  /** A new secret of the kind the framework uses. */
  newSecret(): string
}

export function statelessUnderTest(app: StatelessApp): SourceUnderTest {
  let secrets = [app.newSecret()]
  let source = app.build(secrets)
  return {
    get source() {
      return source
    },
    cookieName: app.cookieName,
    login: (user, groups) => app.write(secrets[0] as string, user, groups, 0),
    loginExpired: (user) => app.write(secrets[0] as string, user, [], app.expiredAgoS),
    logout: async () => {
      secrets = [app.newSecret()]
      source = app.build(secrets)
    },
  }
}
