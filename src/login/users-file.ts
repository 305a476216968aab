// The built-in login's users: a YAML file of ids, scrypt hashes and groups.
//   users:
//     - id: demo
//       password: scrypt$ln=15,r=8,p=1$...$...
//       groups: [staff]
import { readFileSync } from 'node:fs'
import { ConfigError, type ConfigProblem } from '../config/problems.js'
import { compileSchemaCheck } from '../config/schema-check.js'
import { parseYamlSource } from '../config/yaml-source.js'
import { parsePasswordHash } from './password-hash.js'

export interface LoginUser {
  readonly id: string
  readonly hash: NonNullable<ReturnType<typeof parsePasswordHash>>
  readonly groups: readonly string[]
  /** Line of the user's password in the users file, for messages about it. */
  readonly line: number
}

/** The id of the example user that the shipped config enables; its password is in the README. */
export const EXAMPLE_USER_ID = 'demo'

export function loadUsersFile(file: string): ReadonlyMap<string, LoginUser> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new ConfigError([{ file, line: 0, field: '(file)', message: (err as Error).message }])
  }
  return parseUsers(file, text)
}

// The users file's shape, and its one default (no groups). What a schema cannot say (a password
// that is a scrypt hash, ids that are unique) is checked below, in the same pass, so every problem
// of the file is reported at once.
const usersFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['users'],
  properties: {
    users: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'password'],
        properties: {
          id: { type: 'string', minLength: 1 },
          password: { type: 'string' },
          groups: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
        },
      },
    },
  },
} as const

const checkSchema = compileSchemaCheck(usersFileSchema)

export function parseUsers(file: string, text: string): ReadonlyMap<string, LoginUser> {
  const { source, problems } = parseYamlSource(file, text)
  if (!source) throw new ConfigError(problems)
  const found: ConfigProblem[] = checkSchema(source)
  const problem = (path: (string | number)[], field: string, message: string) =>
    found.push({ file, line: source.lineOf(path), field, message })
  const users = new Map<string, LoginUser>()
  const seenIds = new Set<string>()
  const entries = (source.data as { users?: unknown } | null)?.users
  for (const [i, entry] of (Array.isArray(entries) ? entries : []).entries()) {
    // Entries the schema refused are reported already; what is left to check needs a usable one.
    const u = entry as { id?: unknown; password?: unknown; groups?: unknown } | null
    if (!u || typeof u.id !== 'string' || u.id.length === 0 || typeof u.password !== 'string') continue
    const at = `users[${i}]`
    if (seenIds.has(u.id)) problem(['users', i, 'id'], `${at}.id`, `duplicate user id "${u.id}"`)
    seenIds.add(u.id)
    const hash = parsePasswordHash(u.password)
    if (!hash) {
      problem(
        ['users', i, 'password'],
        `${at}.password`,
        'must be a scrypt hash from `npm run cli -- hash-password`',
      )
      continue
    }
    const line = source.lineOf(['users', i, 'password'])
    users.set(u.id, { id: u.id, hash, groups: u.groups as string[], line })
  }
  if (found.length > 0) throw new ConfigError(found)
  return users
}
