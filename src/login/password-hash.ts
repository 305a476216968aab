// scrypt password hashes in a self-describing text form:
//   scrypt$ln=15,r=8,p=1$<salt base64>$<key base64>
// (ln is log2 of N), so the cost can be raised later without breaking stored hashes.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto'

const KEY_LENGTH = 32
export const DEFAULT_COST = { ln: 15, r: 8, p: 1 } as const

interface ParsedHash {
  readonly ln: number
  readonly r: number
  readonly p: number
  readonly salt: Buffer
  readonly key: Buffer
}

export function parsePasswordHash(text: string): ParsedHash | null {
  const m =
    /^scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/.exec(
      text,
    )
  if (!m) return null
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (ln < 10 || ln > 20 || r < 1 || p < 1) return null
  const key = Buffer.from(m[5] as string, 'base64')
  if (key.length < 16) return null
  return { ln, r, p, salt: Buffer.from(m[4] as string, 'base64'), key }
}

function derive(
  password: string,
  salt: Buffer,
  length: number,
  cost: { ln: number; r: number; p: number },
): Promise<Buffer> {
  const options: ScryptOptions = {
    N: 2 ** cost.ln,
    r: cost.r,
    p: cost.p,
    maxmem: 256 * 2 ** cost.ln * cost.r + 1024 * 1024,
  }
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, options, (err, key) => (err ? reject(err) : resolve(key)))
  })
}

export async function hashPassword(
  password: string,
  cost: { ln: number; r: number; p: number } = DEFAULT_COST,
): Promise<string> {
  const salt = randomBytes(16)
  const key = await derive(password, salt, KEY_LENGTH, cost)
  return `scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${salt.toString('base64')}$${key.toString('base64')}`
}

export async function verifyPassword(password: string, hash: ParsedHash): Promise<boolean> {
  const key = await derive(password, hash.salt, hash.key.length, hash)
  return timingSafeEqual(key, hash.key)
}
