// The byte-level steps the signed formats share: strict base64, bounded zlib, constant-time
// comparison of signatures. Strict means one spelling per byte string: the frameworks' decoders
// are lenient (Python skips stray characters), but every value they write is canonical, so a
// non-canonical one was not written by them.
import { timingSafeEqual } from 'node:crypto'
import { inflateSync } from 'node:zlib'
import { refuse } from './signed-result.js'

const BASE64URL = /^[A-Za-z0-9_-]*$/
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

/** Unpadded base64url, as itsdangerous and Django write it. */
export function base64UrlBytes(text: string, what: string): Buffer {
  if (!BASE64URL.test(text) || text.length % 4 === 1) refuse('malformed', `${what} is not base64url`)
  const bytes = Buffer.from(text, 'base64url')
  if (bytes.toString('base64url') !== text) refuse('malformed', `${what} is not canonical base64url`)
  return bytes
}

/** Padded standard base64, as Ruby's strict_encode64 and Python's b64encode write it. */
export function base64Bytes(text: string, what: string): Buffer {
  if (!BASE64.test(text) || text.length % 4 !== 0) refuse('malformed', `${what} is not base64`)
  const bytes = Buffer.from(text, 'base64')
  if (bytes.toString('base64') !== text) refuse('malformed', `${what} is not canonical base64`)
  return bytes
}

/** zlib-inflated bytes, refused past `maxBytes` (the limit is enforced while inflating). */
export function inflateBounded(compressed: Buffer, maxBytes: number): Buffer {
  try {
    return inflateSync(compressed, { maxOutputLength: maxBytes })
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ERR_BUFFER_TOO_LARGE')
      refuse('too-large', 'payload bigger than the limit once decompressed')
    refuse('malformed', 'payload is not zlib data')
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function utf8Text(bytes: Uint8Array, what: string): string {
  try {
    return UTF8.decode(bytes)
  } catch {
    refuse('malformed', `${what} is not UTF-8`)
  }
}

/** Whether two signatures are equal, in time that does not depend on where they differ. */
export function sameSignature(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'utf8')
  const b = Buffer.from(expected, 'utf8')
  return a.length === b.length && timingSafeEqual(a, b)
}

export function startsWithBytes(bytes: Uint8Array, prefix: readonly number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b)
}
