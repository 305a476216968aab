// The one place a Redis connection is made, for every part of the gateway that talks to Redis (the
// connect store, phpredis sessions, links and tokens, readiness): one Redis server, a Sentinel
// group's current primary, or a Redis Cluster, each through node-redis' own client for it. What
// every user needs is the same everywhere: fail closed at once while the store is unreachable (no
// offline queue), keep reconnecting in the background, and our own command timer (command-timeout.ts).
//
// The single-server client is built exactly as before this module existed and handed out as is:
// the hot path pays nothing for the other two.
import { createClient, createCluster, createSentinel, RESP_TYPES } from 'redis'

export type RedisMode = 'single' | 'sentinel' | 'cluster'

export interface RedisNodeAddress {
  readonly host: string
  readonly port: number
}

/** Where Redis is and how to log in: the `session.redis` settings every user shares. */
export interface RedisConnectionSettings {
  readonly mode: RedisMode
  /** mode single: the server's URL (`rediss://` for TLS). */
  readonly url: string
  /** mode sentinel: the sentinels; mode cluster: seed nodes of the cluster. */
  readonly nodes: readonly RedisNodeAddress[]
  /** mode sentinel: the name the sentinels monitor the primary under. */
  readonly masterName: string | undefined
  /** The data nodes' password (requirepass / the default user's). */
  readonly password: string | undefined
  /** mode sentinel: the sentinels' own password, when they have one. */
  readonly sentinelPassword: string | undefined
  /** mode sentinel and cluster: TLS to every node (mode single says so by its URL). */
  readonly tls: boolean
  readonly connectTimeoutMs: number
}

export interface RedisConnectionOptions extends RedisConnectionSettings {
  /** Default true: keep reconnecting in the background. False (one-shot commands): fail at once. */
  readonly reconnect?: boolean
  /** mode single only: the protocol and invalidation events the connect store's client cache needs. */
  readonly resp3?: boolean
  readonly emitInvalidate?: boolean
  readonly onError?: (err: Error) => void
}

type SetOptions = { EX?: number; EXAT?: number; KEEPTTL?: boolean; XX?: boolean }
type ScriptOptions = { keys: string[]; arguments: string[] }

/** The key commands the gateway sends: the same methods on all three node-redis clients. */
export interface RedisCommands {
  get(key: string): Promise<string | null>
  set(key: string, value: string, options?: SetOptions): Promise<string | null>
  del(key: string): Promise<number>
  evalSha(sha1: string, options: ScriptOptions): Promise<unknown>
  eval(script: string, options: ScriptOptions): Promise<unknown>
}

/** GET with the value as bytes (PHP strings need not be UTF-8). */
export interface RedisBytes {
  get(key: string): Promise<Buffer | null>
}

/** What only a connection to one server is asked beside the commands (the client cache's needs). */
export interface SingleRedisClient extends RedisCommands {
  pTTL(key: string): Promise<number>
  ping(): Promise<string>
  sendCommand(args: string[]): Promise<unknown>
  on(event: string, listener: (value: unknown) => void): unknown
  /** Connected and not closing: commands sent now go out on this connection. */
  readonly isReady: boolean
}

export interface RedisConnection {
  readonly mode: RedisMode
  /** The client itself, seen through the commands every topology has. */
  readonly commands: RedisCommands
  /** mode single: the client, for what only one connection can do (client tracking). */
  readonly single: SingleRedisClient | undefined
  bytes(): RedisBytes
  /** Resolves once connected; rejects if the first attempt fails (retrying on in the background). */
  connect(): Promise<void>
  /**
   * The primary answers (every primary, on a cluster: any session may live on any of them).
   * Without a timer of its own: callers race it against theirs.
   */
  ping(): Promise<void>
  close(): Promise<void>
}

/** The settings of one server at `url` (tests, benchmarks, tools that name a URL). */
export function singleRedis(
  url: string,
  password?: string,
): Omit<RedisConnectionSettings, 'connectTimeoutMs'> {
  return {
    mode: 'single',
    url,
    nodes: [],
    masterName: undefined,
    password,
    sentinelPassword: undefined,
    tls: false,
  }
}

/** Where Redis is, for messages: never a password (one in a URL is cut out). */
export function describeRedis(s: RedisConnectionSettings): string {
  if (s.mode === 'single') return s.url.replace(/\/\/[^@/]*@/, '//[redacted]@')
  const nodes = s.nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`))
  return s.mode === 'sentinel'
    ? `sentinel master ${s.masterName} via ${nodes.join(',')}`
    : `cluster via ${nodes.join(',')}`
}

const BACKOFF = (retries: number) => Math.min(50 * 2 ** retries, 2000)
/** Between two attempts to reach a Sentinel group or a cluster whose first connect failed. */
const RECONNECT_TOPOLOGY_MS = 1000

export function createRedisConnection(o: RedisConnectionOptions): RedisConnection {
  if (o.mode === 'sentinel') return sentinelConnection(o)
  if (o.mode === 'cluster') return clusterConnection(o)
  return singleConnection(o)
}

function singleConnection(o: RedisConnectionOptions): RedisConnection {
  const client = createClient({
    url: o.url,
    ...(o.password ? { password: o.password } : {}),
    ...(o.resp3 ? { RESP: 3 as const } : {}),
    // CLIENT TRACKING ON in the handshake of every (re)connection; the store caches, not node-redis.
    ...(o.emitInvalidate ? { emitInvalidate: true } : {}),
    // node-redis' own command timeout arms an AbortSignal.timeout per command (measurable in
    // profiles) and was seen not to fire against a stopped Redis: callers race their own timer.
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: o.connectTimeoutMs,
      reconnectStrategy: o.reconnect === false ? false : BACKOFF,
    },
    // Without this, commands wait in a queue while Redis is down instead of failing closed at once.
    disableOfflineQueue: true,
  })
  client.on('error', (err: Error) => o.onError?.(err))
  return {
    mode: 'single',
    commands: client as unknown as RedisCommands,
    single: client as unknown as SingleRedisClient,
    bytes: () => client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as RedisBytes,
    connect: () => client.connect().then(() => undefined),
    ping: () => client.ping().then(() => undefined),
    async close() {
      // A client still (re)connecting has nothing to flush: it is dropped at once.
      if (client.isReady) await client.close().catch(() => client.destroy())
      else if (client.isOpen) client.destroy()
    },
  }
}

/** Options of every connection to a data node (primary, replica, cluster node). */
function nodeOptions(o: RedisConnectionOptions, password: string | undefined) {
  return {
    ...(password ? { password } : {}),
    socket: {
      connectTimeout: o.connectTimeoutMs,
      reconnectStrategy: o.reconnect === false ? (false as const) : BACKOFF,
      ...(o.tls ? { tls: true as const } : {}),
    },
    disableOfflineQueue: true,
  }
}

function sentinelConnection(o: RedisConnectionOptions): RedisConnection {
  const sentinel = createSentinel({
    name: o.masterName as string,
    sentinelRootNodes: o.nodes.map(({ host, port }) => ({ host, port })),
    nodeClientOptions: nodeOptions(o, o.password),
    sentinelClientOptions: nodeOptions(o, o.sentinelPassword),
    commandOptions: { timeout: 0 },
    // Each failed attempt to find the primary waits 1 s inside node-redis; a one-shot command
    // gives up after the first.
    maxCommandRediscovers: o.reconnect === false ? 0 : 16,
    // Re-ask the sentinels now and then, beside their switch-master messages.
    scanInterval: 5000,
  })
  return topologyConnection(o, 'sentinel', sentinel, {
    ping: () => sentinel.ping().then(() => undefined),
    isOpen: () => sentinel.isOpen,
    connectOnce: () => sentinel.connect().then(() => undefined),
    close: async () => {
      if (sentinel.isOpen) await sentinel.close().catch(() => sentinel.destroy())
    },
  })
}

function clusterConnection(o: RedisConnectionOptions): RedisConnection {
  const defaults = nodeOptions(o, o.password)
  const cluster = createCluster({
    rootNodes: o.nodes.map(({ host, port }) => ({ socket: { host, port, ...(o.tls ? { tls: true } : {}) } })),
    defaults,
    commandOptions: { timeout: 0 },
    // A node that stops answering (its primary died, a replica takes its slots over): ask the
    // cluster for the new map after 500 ms of failed reconnects, not node-redis' default 5 s.
    topologyRefreshOnReconnectionAttemptStrategy: 500,
  })
  return topologyConnection(o, 'cluster', cluster, {
    async ping() {
      const masters = cluster.masters
      if (!cluster.isOpen || masters.length === 0) throw new Error('not connected to the cluster')
      await Promise.all(masters.map((m) => cluster.nodeClient(m).then((c) => c.ping())))
    },
    isOpen: () => cluster.isOpen,
    connectOnce: () => cluster.connect().then(() => undefined),
    close: async () => {
      if (cluster.isOpen) await cluster.close().catch(() => cluster.destroy())
    },
  })
}

interface TopologyClient {
  on(event: 'error', listener: (err: unknown) => void): unknown
  withTypeMapping(mapping: object): unknown
}

/**
 * Sentinel and Cluster clients give up their first connect after a few tries and stay closed: the
 * gateway keeps trying in the background instead, as it does with one server.
 */
function topologyConnection(
  o: RedisConnectionOptions,
  mode: 'sentinel' | 'cluster',
  client: TopologyClient,
  ops: {
    ping(): Promise<void>
    isOpen(): boolean
    connectOnce(): Promise<void>
    close(): Promise<void>
  },
): RedisConnection {
  // node-redis emits some of these as strings.
  client.on('error', (err) => o.onError?.(err instanceof Error ? err : new Error(String(err))))
  let closed = false
  let retry: NodeJS.Timeout | undefined
  const attempt = (): Promise<void> =>
    ops.connectOnce().catch((err: unknown) => {
      if (!closed && o.reconnect !== false) {
        retry = setTimeout(() => {
          if (!closed && !ops.isOpen()) attempt().catch(() => {})
        }, RECONNECT_TOPOLOGY_MS)
        retry.unref()
      }
      throw err
    })
  return {
    mode,
    commands: client as unknown as RedisCommands,
    single: undefined,
    bytes: () => client.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer }) as unknown as RedisBytes,
    connect: attempt,
    ping: ops.ping,
    async close() {
      closed = true
      clearTimeout(retry)
      await ops.close()
    },
  }
}
