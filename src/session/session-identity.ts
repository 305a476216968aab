// Who a stored session belongs to: the user id and groups, read from the fields the config names
// (for example `user.id` and `user.groups`), so sessions written by the main app need no change.
export interface Identity {
  readonly user: string
  readonly groups: readonly string[]
}

export function readPath(data: unknown, path: readonly string[]): unknown {
  let value = data
  for (const key of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined
    value = (value as Record<string, unknown>)[key]
  }
  return value
}

export function writePath(data: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let target = data
  for (const key of path.slice(0, -1)) {
    const next = target[key]
    if (next === null || typeof next !== 'object') target[key] = {}
    target = target[key] as Record<string, unknown>
  }
  target[path[path.length - 1] as string] = value
}

/** The identity in a session, or null when the session has no usable user id (an anonymous one). */
export function identityFromSession(
  data: unknown,
  userIdField: readonly string[],
  groupsField: readonly string[],
): Identity | null {
  const rawUser = readPath(data, userIdField)
  let user: string
  if (typeof rawUser === 'string' && rawUser.length > 0) user = rawUser
  else if (typeof rawUser === 'number' && Number.isFinite(rawUser)) user = String(rawUser)
  else return null
  const rawGroups = readPath(data, groupsField)
  let groups: string[] = []
  if (Array.isArray(rawGroups))
    groups = rawGroups.filter((g): g is string => typeof g === 'string' && g.length > 0)
  else if (typeof rawGroups === 'string' && rawGroups.length > 0) groups = [rawGroups]
  return { user, groups }
}
