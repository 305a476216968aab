// Django's session-auth hash: at login, django.contrib.auth stores `_auth_user_hash`, an HMAC of
// the user's password hash (AbstractBaseUser.get_session_auth_hash), and on every request
// auth.get_user() compares it with the user's current one: a password change (or
// update_session_auth_hash elsewhere) ends every other session of that user at once. The gateway
// makes the same comparison when it reads the auth tables, so a changed password ends downloads
// too, not only pages.
//
//   salted_hmac('django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash', password,
//               secret, algorithm='sha256').hexdigest()
//
// with every secret (SECRET_KEY, then SECRET_KEY_FALLBACKS, as Django 4.1+ checks them), and
// SHA-1 too with legacySha1 (Django 3.1/3.2's DEFAULT_HASHING_ALGORITHM = 'sha1' and
// _legacy_get_session_auth_hash).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto'

const KEY_SALT = 'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash'

export class DjangoSessionAuthHash {
  readonly #keys: readonly { readonly algorithm: 'sha256' | 'sha1'; readonly key: Buffer }[]

  constructor(secrets: readonly string[], legacySha1: boolean) {
    const algorithms = legacySha1 ? (['sha256', 'sha1'] as const) : (['sha256'] as const)
    this.#keys = secrets.flatMap((secret) =>
      algorithms.map((algorithm) => ({
        algorithm,
        key: createHash(algorithm).update(KEY_SALT).update(secret).digest(),
      })),
    )
  }

  /** True when `sessionHash` is the hash of `passwordHash` under one of the secrets. */
  verifies(sessionHash: unknown, passwordHash: string): boolean {
    if (typeof sessionHash !== 'string' || !/^[0-9a-f]{40}(?:[0-9a-f]{24})?$/.test(sessionHash)) return false
    const sent = Buffer.from(sessionHash, 'latin1')
    let ok = false
    for (const { algorithm, key } of this.#keys) {
      const expected = Buffer.from(createHmac(algorithm, key).update(passwordHash).digest('hex'), 'latin1')
      // Every key is tried, so the time taken does not say which one matched.
      if (expected.length === sent.length && timingSafeEqual(expected, sent)) ok = true
    }
    return ok
  }
}
