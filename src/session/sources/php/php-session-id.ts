// Which PHPSESSID values can be PHP session ids at all. The cookie is not signed: the id itself is
// the secret, so the only check possible before any I/O is the shape PHP gives its ids, and a value
// of any other shape never reaches a file name or a Redis key.
//
// PHP writes ids of exactly `session.sid_length` characters (22..256) from the first
// 2^`session.sid_bits_per_character` characters of "0-9a-zA-Z,-" ordered as below (php-src
// ext/session/session.c, bin_to_readable): 4 bits -> 0-9a-f, 5 bits -> 0-9a-v, 6 bits -> all 64.
// Both settings are the app's php.ini values; PHP's built-in defaults are 32 and 4, while Debian's
// php.ini-production ships 26 and 5, so the docs tell operators to copy them from `php -i`.
import { decodeCookieValue } from '../../cookie-header.js'

const PHP_ID_CHARACTERS = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ,-'

export type SidBitsPerCharacter = 4 | 5 | 6
export const PHP_SID_LENGTH_MIN = 22
export const PHP_SID_LENGTH_MAX = 256

export interface PhpSessionIdShape {
  readonly sidLength: number
  readonly sidBitsPerCharacter: SidBitsPerCharacter
}

/** A checker for one shape: the id when the sent cookie value has it, else undefined. */
export function phpSessionIdChecker(shape: PhpSessionIdShape): (sentCookie: string) => string | undefined {
  const allowed = new Uint8Array(128)
  for (const ch of PHP_ID_CHARACTERS.slice(0, 2 ** shape.sidBitsPerCharacter)) allowed[ch.charCodeAt(0)] = 1
  const length = shape.sidLength
  return (sentCookie) => {
    // PHP URL-encodes the cookie it sets, so ',' of the 6-bit alphabet arrives as %2C.
    const id = decodeCookieValue(sentCookie)
    if (id.length !== length) return undefined
    for (let i = 0; i < length; i++) {
      const c = id.charCodeAt(i)
      if (c >= 128 || allowed[c] !== 1) return undefined
    }
    return id
  }
}
