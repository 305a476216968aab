// The built-in login's users: a YAML file of ids, scrypt hashes and groups.
//   users:
//     - id: demo
//       password: scrypt$ln=15,r=8,p=1$...$...
//       groups: [staff]
import { readFileSync } from 'node:fs'
import { ConfigError, type ConfigProblem } from '../config/problems.js'
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

export function parseUsers(file: string, text: string): ReadonlyMap<string, LoginUser> {
  const { source, problems } = parseYamlSource(file, text)
  if (!source) throw new ConfigError(problems)
  const found: ConfigProblem[] = []
  const problem = (path: (string | number)[], field: string, message: string) =>
    found.push({ file, line: source.lineOf(path), field, message })
  const users = new Map<string, LoginUser>()
  const seenIds = new Set<string>()
  const data = source.data as { users?: unknown } | null
  if (!data || typeof data !== 'object' || !Array.isArray(data.users)) {
    problem([], 'users', 'must be a list of users')
    throw new ConfigError(found)
  }
  for (const key of Object.keys(data)) if (key !== 'users') problem([key], key, 'unknown field')
  for (const [i, entry] of (data.users as unknown[]).entries()) {
    const at = `users[${i}]`
    if (!entry || typeof entry !== 'object') {
      problem(['users', i], at, 'must be a mapping')
      continue
    }
    const u = entry as Record<string, unknown>
    for (const key of Object.keys(u)) {
      if (!['id', 'password', 'groups'].includes(key))
        problem(['users', i, key], `${at}.${key}`, 'unknown field')
    }
    if (typeof u.id !== 'string' || u.id.length === 0) {
      problem(['users', i, 'id'], `${at}.id`, 'must be a non-empty string')
      continue
    }
    if (seenIds.has(u.id)) problem(['users', i, 'id'], `${at}.id`, `duplicate user id "${u.id}"`)
    seenIds.add(u.id)
    const hash = typeof u.password === 'string' ? parsePasswordHash(u.password) : null
    if (!hash) {
      problem(
        ['users', i, 'password'],
        `${at}.password`,
        'must be a scrypt hash from `npm run cli -- hash-password`',
      )
    }
    const groups = u.groups ?? []
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string' && g.length > 0)) {
      problem(['users', i, 'groups'], `${at}.groups`, 'must be a list of group names')
    }
    if (hash) {
      const line = source.lineOf(['users', i, 'password'])
      users.set(u.id, { id: u.id, hash, groups: groups as string[], line })
    }
  }
  if (found.length > 0) throw new ConfigError(found)
  return users
}
