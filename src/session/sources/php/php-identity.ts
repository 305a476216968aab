// Who a decoded $_SESSION belongs to, read from the keys the config names (`user_id_key`,
// `groups_key`, dotted paths such as `auth.user_id`). PHP's values are looser than JSON's, so the
// choices are written down here:
//   - the user id is a non-empty string or an integer (PHP ints past 2^53 arrive as bigint and are
//     kept exact as their decimal text). Floats, booleans, binary strings and arrays are not ids: a
//     session holding one is a session without a user, never a guess at one.
//   - groups are a list: an array PHP wrote as a list, or an array whose keys are all integers
//     (what `unset($roles[0])` leaves), read in key order. Strings and integers are kept (role ids
//     are often numbers; the ACL compares names as text). Anything else in it is skipped, and a
//     map with string keys gives no groups: fewer groups can only mean fewer files.
//   - a path may pass through an object's public properties (`$_SESSION['user'] = $user` keeps
//     `user.id` readable) when objects are inert; private and protected names start with a NUL byte
//     in the decoded data, so a dotted path can never name them.
import { ByteString } from '../../formats/byte-string.js'
import { type PhpMap, PhpObject, type PhpValue } from '../../formats/php-unserialize.js'
import type { Identity } from '../../session-identity.js'

const INTEGER_KEY = /^(?:0|-?[1-9][0-9]*)$/

export function identityFromPhpSession(
  session: PhpMap,
  userIdKey: readonly string[],
  groupsKey: readonly string[],
): Identity | null {
  const user = userIdOf(valueAt(session, userIdKey))
  if (user === undefined) return null
  return Object.freeze({ user, groups: Object.freeze(groupsOf(valueAt(session, groupsKey))) })
}

function valueAt(session: PhpMap, path: readonly string[]): PhpValue | undefined {
  let value: PhpValue | undefined = session
  for (const key of path) {
    if (value instanceof PhpObject) value = value.properties
    if (!isMap(value) && !Array.isArray(value)) return undefined
    if (!Object.hasOwn(value, key)) return undefined
    value = (value as Readonly<Record<string, PhpValue>>)[key]
  }
  return value
}

function userIdOf(value: PhpValue | undefined): string | undefined {
  if (typeof value === 'string') return value.length > 0 ? value : undefined
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined
  if (typeof value === 'bigint') return value.toString()
  return undefined
}

function groupsOf(value: PhpValue | undefined): string[] {
  let items: readonly PhpValue[]
  if (Array.isArray(value)) items = value
  else if (isMap(value)) {
    const keys = Object.keys(value)
    if (!keys.every((k) => INTEGER_KEY.test(k))) return []
    items = keys.sort((a, b) => Number(a) - Number(b)).map((k) => value[k] as PhpValue)
  } else if (typeof value === 'string' && value.length > 0) return [value]
  else return []
  const groups: string[] = []
  for (const item of items) {
    const name = userIdOf(item)
    if (name !== undefined) groups.push(name)
  }
  return groups
}

/** A PHP array with string keys: a frozen object without prototype (php-unserialize.ts). */
function isMap(value: PhpValue | undefined): value is PhpMap {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof ByteString) &&
    Object.getPrototypeOf(value) === null
  )
}
