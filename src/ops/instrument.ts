// Metrics wired to what they measure: the rule holder's reloads, the store's reads and pings
// (wrapped), its client cache's totals. One place, shared by the server and the tests.
import type { AclHolder } from '../acl/index.js'
import type { SessionStore } from '../session/session-store.js'
import { meteredStore } from './metered-store.js'
import { GatewayMetrics } from './metrics.js'

export interface Instrumented {
  readonly metrics: GatewayMetrics
  /** The store to give the app: the same store, timed. */
  readonly store: SessionStore
}

export function instrument(store: SessionStore, acl: AclHolder): Instrumented {
  const cacheCounts = () => (store as { cacheCounts?: { hits: number; invalidations: number } }).cacheCounts
  const metrics = new GatewayMetrics({ ruleCount: () => acl.current.ruleCount, sessionCache: cacheCounts })
  acl.onReload((ok) => metrics.countReload('rules', ok))
  return { metrics, store: meteredStore(store, metrics) }
}
