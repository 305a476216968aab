// `hash-password`: reads a password from standard input, prints the scrypt hash for the users file.
import { hashPassword } from '../login/password-hash.js'
import { EXIT_INVALID, EXIT_OK } from './exit-codes.js'
import type { Io, Parsed } from './io.js'

export const HASH_PASSWORD_USAGE = `  download-gateway hash-password
      reads a password from standard input and prints its scrypt hash for the users file`

export function parseHashPasswordArgs(args: readonly string[]): Parsed<{ readonly name: 'hash-password' }> {
  return args.length === 0
    ? { ok: true, command: { name: 'hash-password' } }
    : { ok: false, message: 'hash-password takes no arguments; it reads the password from standard input' }
}

export async function runHashPassword(io: Io, readInput: () => Promise<string>): Promise<number> {
  // One line: the password, without its line ending.
  const password = (await readInput()).replace(/\r?\n$/, '')
  if (password.length < 8) {
    io.err('error: the password must be at least 8 characters long')
    return EXIT_INVALID
  }
  io.out(await hashPassword(password))
  return EXIT_OK
}
