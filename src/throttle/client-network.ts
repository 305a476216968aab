// The key a client address is counted under. An IPv4 address is itself; an IPv6 address is its
// /64, because one subscriber routinely holds a whole /64 and can pick a fresh address from it
// for every request. The address itself comes from Fastify's request.ip, which reads
// X-Forwarded-For only from the peers server.trust_proxy names (config/trust-proxy.ts), so a
// client that writes its own X-Forwarded-For to a gateway it reaches directly changes nothing.
import { isIPv4, isIPv6 } from 'node:net'

export function clientNetwork(address: string): string {
  if (isIPv4(address)) return address
  const bare = address.split('%')[0] as string
  if (!isIPv6(bare)) return address
  // ::ffff:192.0.2.1 is an IPv4 client reached over a dual-stack socket.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  if (mapped) return mapped[1] as string
  return `${expandIPv6(bare).slice(0, 4).join(':')}::/64`
}

/** The eight groups of an IPv6 address, without leading zeros (an embedded IPv4 tail as two). */
function expandIPv6(address: string): string[] {
  let text = address.toLowerCase()
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const zeros = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0')
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16).toString(16))
}
