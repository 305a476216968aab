import type { Subject } from './types.js'

// Who a rule applies to. `anyone` includes anonymous requests; `authenticated` is any logged-in
// user; `user:<id>` and `group:<name>` name one user or group. Group membership is taken from
// the subject as given, whether or not a user is logged in.

export interface SubjectSet {
  readonly anyone: boolean
  readonly authenticated: boolean
  // Arrays rather than Sets: rules name one or two users or groups, and 100,000 rules would
  // otherwise allocate 200,000 hash tables. Long lists also get a Set for the lookup.
  readonly users: readonly string[]
  readonly groups: readonly string[]
  readonly userSet: ReadonlySet<string> | null
  readonly groupSet: ReadonlySet<string> | null
  /** As written, for messages. */
  readonly text: readonly string[]
}

const NAMED = /^(user|group):(\S+)$/
const SET_THRESHOLD = 8

/** Parses one subject string; returns an error message when it is not one of the four forms. */
export function parseSubject(
  text: string,
): { kind: 'anyone' | 'authenticated' | 'user' | 'group'; name: string } | string {
  if (text === 'anyone' || text === 'authenticated') return { kind: text, name: '' }
  const m = NAMED.exec(text)
  if (m === null) {
    return `bad subject '${text}': use anyone, authenticated, user:<id> or group:<name>`
  }
  return { kind: m[1] as 'user' | 'group', name: m[2] as string }
}

export function subjectSet(texts: readonly string[]): SubjectSet {
  const users: string[] = []
  const groups: string[] = []
  let anyone = false
  let authenticated = false
  for (const text of texts) {
    const s = parseSubject(text)
    if (typeof s === 'string') continue
    if (s.kind === 'anyone') anyone = true
    else if (s.kind === 'authenticated') authenticated = true
    else if (s.kind === 'user') users.push(s.name)
    else groups.push(s.name)
  }
  return {
    anyone,
    authenticated,
    users,
    groups,
    userSet: users.length > SET_THRESHOLD ? new Set(users) : null,
    groupSet: groups.length > SET_THRESHOLD ? new Set(groups) : null,
    text: texts,
  }
}

/** The request-time check; no allocation. */
export function subjectMatches(set: SubjectSet, subject: Subject): boolean {
  if (set.anyone) return true
  const user = subject.user
  if (user !== null) {
    if (set.authenticated) return true
    if (set.users.length > 0 && has(set.users, set.userSet, user)) return true
  }
  if (set.groups.length > 0) {
    const groups = subject.groups
    for (let i = 0; i < groups.length; i++)
      if (has(set.groups, set.groupSet, groups[i] as string)) return true
  }
  return false
}

function has(list: readonly string[], set: ReadonlySet<string> | null, name: string): boolean {
  return set !== null ? set.has(name) : list.includes(name)
}

/** True only when every subject `b` admits is certainly admitted by `a`. */
export function covers(a: SubjectSet, b: SubjectSet): boolean {
  if (a.anyone) return true
  if (b.anyone) return false
  if (b.authenticated && !a.authenticated) return false
  for (const g of b.groups) if (!has(a.groups, a.groupSet, g)) return false
  if (a.authenticated) return true
  for (const u of b.users) if (!has(a.users, a.userSet, u)) return false
  return true
}
