// The counters the session store's choice implies: Redis beside the sessions, so every gateway
// counts together, or this process's memory for a gateway that keeps its sessions in memory.
import type { AttemptCounters } from './attempt-counters.js'
import { MemoryCounters } from './memory-counters.js'
import { RedisCounters, type RedisCountersOptions } from './redis-counters.js'

export function createCounters(store: 'memory' | 'redis', redis: RedisCountersOptions): AttemptCounters {
  if (store === 'memory') return new MemoryCounters()
  const counters = new RedisCounters(redis)
  // Not awaited: a gateway starts while Redis is away; logins answer 503 until it is back.
  counters.connect().catch(() => {})
  return counters
}
