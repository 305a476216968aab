// A session store that times its reads and pings for the metrics. Wrapped around the real store
// only when metrics are on, so a gateway without them pays nothing. Answers from memory
// (getCached) pass straight through: the cache counts its own hits. Reads by callback
// (getByCallback) are timed like get().
import type { SessionData, SessionStore } from '../session/session-store.js'
import type { GatewayMetrics } from './metrics.js'

export function meteredStore(store: SessionStore, metrics: GatewayMetrics): SessionStore {
  const timed = <T>(op: 'get' | 'ping', run: Promise<T>, started: number): Promise<T> =>
    run.then(
      (value) => {
        metrics.observeStore(op, (performance.now() - started) / 1000, false)
        return value
      },
      (err: unknown) => {
        metrics.observeStore(op, (performance.now() - started) / 1000, true)
        throw err
      },
    )
  const metered: SessionStore = {
    get: (id: string): Promise<SessionData | null> => {
      const started = performance.now()
      return timed('get', store.get(id), started)
    },
    set: (id, data, ttl) => store.set(id, data, ttl),
    destroy: (id) => store.destroy(id),
    ping: () => {
      const started = performance.now()
      return timed('ping', store.ping(), started)
    },
    close: () => store.close(),
  }
  const getCached = store.getCached
  if (getCached !== undefined) metered.getCached = getCached.bind(store)
  const getByCallback = store.getByCallback
  if (getByCallback !== undefined)
    metered.getByCallback = (id, answer) => {
      const started = performance.now()
      getByCallback.call(store, id, (data) => {
        metrics.observeStore('get', (performance.now() - started) / 1000, data instanceof Error)
        answer(data)
      })
    }
  return metered
}
