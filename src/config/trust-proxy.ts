// `server.trust_proxy`: which peers may tell the gateway, through X-Forwarded-Proto and
// X-Forwarded-For, how the client reached the proxy. The built-in login reads the scheme from it to
// decide whether its Secure cookie may be set (routes/login.ts).
//
// Accepted: true (every peer), false (none), or addresses and networks (a list, or one string with
// commas) in the forms Fastify's trustProxy compiles: an IP, an IP/prefix, or one of the names
// loopback, linklocal, uniquelocal. A hop count is refused: Fastify 5 ignores a number for the
// scheme and the address (it cannot tell the proxy from a client that reaches the gateway
// directly), so accepting one would silently leave the login on plain HTTP.
import { isIP } from 'node:net'

export type TrustProxy = boolean | readonly string[]

/** proxy-addr's named ranges, which Fastify accepts among the addresses. */
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal']

export type TrustProxyResult =
  | { readonly ok: true; readonly value: TrustProxy }
  /** `index`: the list entry at fault, when the value was a list. */
  | { readonly ok: false; readonly message: string; readonly index?: number }

const HOPS_REFUSED =
  'a hop count cannot tell nginx from a client that reaches the gateway directly (Fastify ignores it); list the proxy addresses or networks instead, e.g. [127.0.0.1] or [172.16.0.0/12]'

export function parseTrustProxy(value: unknown): TrustProxyResult {
  if (typeof value === 'boolean') return { ok: true, value }
  if (typeof value === 'number') return { ok: false, message: HOPS_REFUSED }
  if (typeof value === 'string') return parseEntries(value.split(','), false)
  if (Array.isArray(value)) return parseEntries(value, true)
  return { ok: false, message: 'must be true, false, or a list of proxy addresses and networks' }
}

/** GATEWAY_TRUST_PROXY: `true`, `false`, or addresses separated by commas. */
export function parseTrustProxyEnv(text: string): TrustProxyResult {
  const trimmed = text.trim()
  if (trimmed === 'true') return { ok: true, value: true }
  if (trimmed === 'false') return { ok: true, value: false }
  if (/^[0-9]+$/.test(trimmed)) return { ok: false, message: HOPS_REFUSED }
  return parseEntries(trimmed.split(','), false)
}

function parseEntries(entries: readonly unknown[], isList: boolean): TrustProxyResult {
  const out: string[] = []
  for (const [i, entry] of entries.entries()) {
    const problem = typeof entry === 'string' ? entryProblem(entry.trim()) : 'must be a string'
    if (problem) return { ok: false, message: problem, ...(isList ? { index: i } : {}) }
    out.push((entry as string).trim())
  }
  // An empty list would compile to "trust nobody" with the look of a setting that does something.
  if (out.length === 0) return { ok: false, message: 'lists no address; write false to trust no proxy' }
  return { ok: true, value: out }
}

function entryProblem(entry: string): string | undefined {
  if (NAMED_RANGES.includes(entry)) return undefined
  const [address, prefix, extra] = entry.split('/')
  // Zone ids (fe80::1%eth0) are refused: proxy-addr does not match them against socket addresses.
  const family = address && !address.includes('%') ? isIP(address) : 0
  const bad = `"${entry}" is not an IP address, a network (10.0.0.0/8) or one of ${NAMED_RANGES.join(', ')}`
  if (family === 0 || extra !== undefined) return bad
  if (prefix === undefined) return undefined
  const max = family === 4 ? 32 : 128
  // /0 is refused as Fastify refuses it; true says "every address" plainly.
  if (!/^[0-9]{1,3}$/.test(prefix) || Number(prefix) < 1 || Number(prefix) > max) {
    return `"${entry}": the prefix length must be 1 to ${max} (true trusts every address)`
  }
  return undefined
}
