// The keys share links are signed with: `kid:secret` lines, newest first, the same rotation the
// session secrets use (the first signs, every one verifies; a key removed stops verifying at once).
// The key id travels in the link in the clear so verification picks the key without trying each.

export interface LinkKey {
  readonly kid: string
  readonly secret: string
}

export interface LinkKeyRing {
  /** Signs new links. */
  readonly newest: LinkKey
  readonly byKid: ReadonlyMap<string, LinkKey>
}

export const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/
export const MIN_LINK_SECRET_LENGTH = 32

export type ParsedKeys = { ok: true; ring: LinkKeyRing | null } | { ok: false; message: string }

/**
 * `text` holds `kid:secret` entries separated by newlines or commas; `#` starts a comment line.
 * Null ring when there is none (links are then off). Messages never quote a secret.
 */
export function parseLinkKeys(text: string | undefined): ParsedKeys {
  if (text === undefined) return { ok: true, ring: null }
  const entries = text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && !s.startsWith('#'))
  const keys: LinkKey[] = []
  const byKid = new Map<string, LinkKey>()
  for (const [n, entry] of entries.entries()) {
    const colon = entry.indexOf(':')
    const kid = colon === -1 ? '' : entry.slice(0, colon)
    const secret = colon === -1 ? '' : entry.slice(colon + 1)
    if (!KID_PATTERN.test(kid))
      return { ok: false, message: `entry ${n + 1}: expected kid:secret, kid of letters, digits, _ or -` }
    if (secret.length < MIN_LINK_SECRET_LENGTH)
      return {
        ok: false,
        message: `key '${kid}': the secret must be at least ${MIN_LINK_SECRET_LENGTH} characters long`,
      }
    if (byKid.has(kid)) return { ok: false, message: `key '${kid}' is listed twice` }
    const key = { kid, secret }
    keys.push(key)
    byKid.set(kid, key)
  }
  if (keys.length === 0) return { ok: true, ring: null }
  return { ok: true, ring: { newest: keys[0] as LinkKey, byKid } }
}
