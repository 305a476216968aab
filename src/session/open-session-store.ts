// The session store the connect source (and the built-in login) reads, opened at start, with the
// lines start-up logs about the session source once the gateway listens (server.ts says them then,
// so nothing is said about a start that fails). Apart from server.ts, which only wires the parts.
import type { Logger } from 'pino'
import type { GatewayConfig } from '../config/gateway-config.js'
import { MemorySessionStore } from './memory-store.js'
import { clientCacheOff, RedisSessionStore } from './redis-store.js'
import type { SessionStore } from './session-store.js'

export interface OpenedSessionStore {
  readonly store: SessionStore
  /** Settles once the store is connected or has failed to; never rejects. */
  readonly connected: Promise<unknown>
  /** Lines to log once listening. */
  readonly notes: (() => void)[]
}

export function openSessionStore(config: GatewayConfig, log: Logger): OpenedSessionStore {
  const opened = openStore(config, log)
  return { ...opened, notes: [...opened.notes, ...sourceNotes(config, log)] }
}

function openStore(config: GatewayConfig, log: Logger): OpenedSessionStore {
  // Only the connect source (and the built-in login, which needs it) reads this store; other sources
  // open their own, so a Redis connection here would be one nobody uses.
  if (config.session.store !== 'redis' || config.session.source !== 'connect') {
    const notes =
      config.session.source === 'connect'
        ? [() => log.info('embedded session store: sessions live in this process and are lost on restart')]
        : []
    return { store: new MemorySessionStore(), connected: Promise.resolve(), notes }
  }
  const redis = new RedisSessionStore({
    ...config.session.redis,
    onError: (err) => log.error({ err: { message: err.message } }, 'session store connection error'),
  })
  // Settled into a value at once (a rejection left unhandled until listen would end the process);
  // said once listening.
  const connected = redis.connect().then(
    () => undefined,
    (err: Error) => err,
  )
  const notes: (() => void)[] = [
    () =>
      void connected.then((err) =>
        err
          ? log.error(
              { err: { message: err.message } },
              'session store not reachable yet; downloads answer 503 until it is',
            )
          : log.info('session store connected'),
      ),
  ]
  const cacheOff = config.session.redis.clientCache && clientCacheOff(config.session.redis.mode)
  if (cacheOff) notes.push(() => log.warn(cacheOff))
  return { store: redis, connected, notes }
}

/** What the chosen session source does, said once at start. */
function sourceNotes(config: GatewayConfig, log: Logger): (() => void)[] {
  const notes: (() => void)[] = []
  if (config.session.callback) {
    // The origin only: a URL may carry credentials, and the path says nothing an operator needs.
    const { origin } = new URL(config.session.callback.url)
    const { cacheTtlMs, token } = config.session.callback
    notes.push(() =>
      log.info(
        { origin, cacheTtlMs, token: token !== undefined },
        'session source: callback; downloads ask the main app, answers kept cache_ttl_ms',
      ),
    )
  }
  if (config.session.source === 'php') {
    const { saveHandler, savePath, serializeHandler, objects } = config.session.php
    notes.push(() =>
      log.info(
        { saveHandler, ...(saveHandler === 'files' ? { savePath } : {}), serializeHandler, objects },
        'session source: php; downloads read PHP sessions from the app store',
      ),
    )
  }
  if (config.session.secretsGenerated && config.session.source === 'connect')
    notes.push(() => log.warn('no GATEWAY_SESSION_SECRETS set: using a random secret for this process only'))
  return notes
}
