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
  const entries: [string, string][] = []
  for (const entry of text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && !s.startsWith('#'))) {
    const colon = entry.indexOf(':')
    entries.push(colon === -1 ? ['', ''] : [entry.slice(0, colon), entry.slice(colon + 1)])
  }
  return ringOf(entries)
}

/**
 * Edge link keys: nginx reads them too (njs `js_preload_object`, which takes JSON only), so besides
 * the `kid:secret` lines they may be the key file nginx reads, `{"keys": [{"kid": "e2", "secret":
 * "..."}, ...]}`, newest first: one file for the gateway and nginx. Secrets are printable ASCII, so
 * Node and njs hash the very same bytes.
 */
export function parseEdgeLinkKeys(text: string | undefined): ParsedKeys {
  if (text === undefined || !text.trimStart().startsWith('{')) return asciiOnly(parseLinkKeys(text))
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    return { ok: false, message: `not JSON: ${(err as Error).message}` }
  }
  const list = (doc as { keys?: unknown } | null)?.keys
  if (!Array.isArray(list)) return { ok: false, message: 'expected {"keys": [{"kid": ..., "secret": ...}]}' }
  const entries: [string, string][] = list.map((k: { kid?: unknown; secret?: unknown } | null) => [
    typeof k?.kid === 'string' ? k.kid : '',
    typeof k?.secret === 'string' ? k.secret : '',
  ])
  return asciiOnly(ringOf(entries))
}

function asciiOnly(parsed: ParsedKeys): ParsedKeys {
  if (!parsed.ok || parsed.ring === null) return parsed
  for (const key of parsed.ring.byKid.values())
    if (!/^[\x21-\x7e]+$/.test(key.secret))
      return { ok: false, message: `key '${key.kid}': the secret must be printable ASCII without spaces` }
  return parsed
}

function ringOf(entries: readonly (readonly [string, string])[]): ParsedKeys {
  const keys: LinkKey[] = []
  const byKid = new Map<string, LinkKey>()
  for (const [n, [kid, secret]] of entries.entries()) {
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
