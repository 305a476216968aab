// Freezes a value and everything reachable from it: for objects handed out to many readers (the
// checked config, sessions shared by the Redis client cache) that nobody may change.
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v)
    Object.freeze(value)
  }
  return value
}
