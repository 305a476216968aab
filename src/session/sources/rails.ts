// Rails' CookieStore session: the encrypted `_app_session` cookie (AES-256-GCM, the `_rails`
// envelope with this cookie's purpose), JSON serializer only; Devise's `warden.user.user.key`
// as the user by default. No store: see stateless-cookie.ts for what that means.
import { RailsEncryptedCookie, type RailsKeyDigest } from '../formats/rails-cookie.js'
import { StatelessCookieSource } from './stateless-cookie.js'

export interface RailsSourceOptions {
  readonly cookieName: string
  /** secret_key_base first, then older ones still accepted during a rotation. */
  readonly secretKeyBases: readonly string[]
  /** 'sha1' for Rails 5.2-6.1, 'sha256' for Rails 7+; both while an app upgrades. */
  readonly keyDigests: readonly RailsKeyDigest[]
  readonly requirePurpose: boolean
  readonly userField: string
  readonly userShape: 'value' | 'devise'
  readonly groupsField: string
  readonly now?: () => number
}

export function createRailsSource(o: RailsSourceOptions): StatelessCookieSource {
  return new StatelessCookieSource({
    name: 'rails',
    cookieName: o.cookieName,
    decoder: new RailsEncryptedCookie(o.secretKeyBases, {
      cookieName: o.cookieName,
      keyDigests: o.keyDigests,
      requirePurpose: o.requirePurpose,
    }),
    userField: o.userField,
    userShape: o.userShape,
    groupsField: o.groupsField,
    ...(o.now ? { now: o.now } : {}),
  })
}
