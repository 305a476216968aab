// Highly available Redis on loopback, for the Sentinel and Cluster tests: a Redis Cluster of three
// primaries and three replicas, and a Sentinel group (one primary, two replicas, three
// `redis-sentinel` processes). Failure detection is set low (cluster-node-timeout,
// down-after-milliseconds) so a killed primary is replaced within a second or two. Every process
// is started here and stopped by PID; killPrimary() SIGKILLs one by PID.
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { freePort } from './ports.js'
import { type Managed, sleep, spawnManaged } from './process.js'
import { ping } from './redis.js'

const run = promisify(execFile)

interface Node {
  readonly port: number
  readonly proc: Managed
}

/** redis-cli against a loopback port; its answer, trimmed. */
export async function redisCli(port: number, args: readonly string[], password?: string): Promise<string> {
  const auth = password === undefined ? [] : ['-a', password, '--no-auth-warning']
  const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args], {
    timeout: 10_000,
  })
  return stdout.trim()
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return
    await sleep(100)
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`)
}

function startServer(dir: string, port: number, extra: readonly string[]): Node {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no']
  const proc = spawnManaged('redis-server', [...args, '--dir', dir, ...extra], dir)
  return { port, proc }
}

async function waitUp(node: Node): Promise<void> {
  await waitFor(`redis on ${node.port}`, async () => {
    if (node.proc.hasExited()) throw new Error(`redis-server on ${node.port} exited: ${node.proc.output()}`)
    return ping(node.port)
  })
}

/**
 * A node on two ports free a moment ago, up and answering. A port found free can be taken by
 * another test's server (suites run in parallel) or come back twice before the first node binds
 * it; such a node never comes up, so it is stopped and started again on other ports.
 */
async function startOnFreePorts(
  taken: Set<number>,
  start: (port: number, busPort: number) => Node,
): Promise<Node> {
  for (let attempt = 1; ; attempt++) {
    const fresh = async () => {
      for (;;) {
        const port = await freePort()
        if (!taken.has(port)) {
          taken.add(port)
          return port
        }
      }
    }
    const node = start(await fresh(), await fresh())
    try {
      await waitFor(`redis on ${node.port}`, async () => !node.proc.hasExited() && ping(node.port), 10_000)
      return node
    } catch (err) {
      await node.proc.stop('SIGKILL')
      if (attempt === 3) throw new Error(`${(err as Error).message}: ${node.proc.output()}`)
    }
  }
}

export interface RedisCluster {
  /** `host:port` of every node, as session.redis.nodes takes them. */
  readonly seeds: readonly string[]
  readonly ports: readonly number[]
  /** The port of the primary that owns `key`'s slot now. */
  primaryOf(key: string): Promise<number>
  /** SIGKILLs the primary that owns `key`'s slot; resolves to its port. */
  killPrimaryOf(key: string): Promise<number>
  /** Resolves once every slot has a live primary again and the cluster says ok. */
  waitHealthy(timeoutMs?: number): Promise<void>
  stop(): Promise<void>
}

/** Three primaries, three replicas; cluster-node-timeout `nodeTimeoutMs` (default 1000). */
export async function startRedisCluster(opts: { nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-cluster-'))
  const nodes: Node[] = []
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.proc.stop('SIGTERM')))
    await rm(dir, { recursive: true, force: true })
  }
  try {
    const taken = new Set<number>()
    for (let i = 0; i < 6; i++) {
      const nodeDir = join(dir, String(i))
      await run('mkdir', ['-p', nodeDir])
      nodes.push(
        await startOnFreePorts(taken, (port, busPort) =>
          startServer(nodeDir, port, [
            '--cluster-enabled',
            'yes',
            // The bus port is given: port + 10000 may be past 65535 for an ephemeral port.
            '--cluster-port',
            String(busPort),
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(opts.nodeTimeoutMs ?? 1000),
            // A replica takes over however long it was cut off from its primary.
            '--cluster-replica-validity-factor',
            '0',
          ]),
        ),
      )
    }
    const seeds = nodes.map((n) => `127.0.0.1:${n.port}`)
    await run('redis-cli', ['--cluster', 'create', ...seeds, '--cluster-replicas', '1', '--cluster-yes'], {
      timeout: 60_000,
    })
    const cluster: RedisCluster = {
      seeds,
      ports: nodes.map((n) => n.port),
      async primaryOf(key) {
        const live = nodes.find((n) => !n.proc.hasExited()) as Node
        const slot = Number(await redisCli(live.port, ['CLUSTER', 'KEYSLOT', key]))
        return primaryOfSlot(live.port, slot)
      },
      async killPrimaryOf(key) {
        const port = await cluster.primaryOf(key)
        const victim = nodes.find((n) => n.port === port)
        if (!victim) throw new Error(`no node on ${port}`)
        victim.proc.child.kill('SIGKILL')
        await victim.proc.exited
        return port
      },
      async waitHealthy(timeoutMs = 30_000) {
        await waitFor(
          'cluster ok',
          async () => {
            const live = nodes.filter((n) => !n.proc.hasExited())
            for (const n of live) {
              const info = await redisCli(n.port, ['CLUSTER', 'INFO'])
              if (!info.includes('cluster_state:ok')) return false
            }
            // Every slot served by a primary that is alive.
            const slots = await redisCli((live[0] as Node).port, ['CLUSTER', 'SLOTS'])
            return !live.some((n) => n.proc.hasExited()) && slots.length > 0
          },
          timeoutMs,
        )
      },
      stop,
    }
    await cluster.waitHealthy()
    return cluster
  } catch (err) {
    const out = nodes.map((n) => n.proc.output()).join('\n')
    await stop()
    throw new Error(`startRedisCluster: ${(err as Error).message}\n${out.slice(-4000)}`)
  }
}

/**
 * Resolves once every replica of the primary on `port` has acknowledged all it wrote so far, so a
 * primary killed next loses nothing the test wrote before (replication is asynchronous).
 */
export async function waitReplicated(port: number, password?: string): Promise<void> {
  await waitFor(`replicas of ${port} in step`, async () => {
    const info = await redisCli(port, ['INFO', 'replication'], password)
    const offset = Number(/master_repl_offset:(\d+)/.exec(info)?.[1])
    const replicas = [...info.matchAll(/^slave\d+:.*offset=(\d+)/gm)].map((m) => Number(m[1]))
    return replicas.length > 0 && replicas.every((o) => o >= offset)
  })
}

/** The port of the primary serving `slot`, from CLUSTER NODES as `port` sees it. */
async function primaryOfSlot(port: number, slot: number): Promise<number> {
  const lines = (await redisCli(port, ['CLUSTER', 'NODES'])).split('\n')
  for (const line of lines) {
    const f = line.split(' ')
    if (!(f[2] ?? '').includes('master') || (f[2] ?? '').includes('fail')) continue
    for (const range of f.slice(8)) {
      const [from, to] = range.split('-').map(Number) as [number, number | undefined]
      if (slot >= from && slot <= (to ?? from)) return Number((f[1] ?? '').split(':')[1]?.split('@')[0])
    }
  }
  throw new Error(`no primary for slot ${slot}`)
}

export interface RedisSentinelGroup {
  readonly masterName: string
  /** `host:port` of the three sentinels, as session.redis.nodes takes them. */
  readonly sentinels: readonly string[]
  /** The port of the primary the sentinels name now. */
  primaryPort(): Promise<number>
  /** SIGKILLs the current primary; resolves to its port. */
  killPrimary(): Promise<number>
  /** Resolves once the sentinels name a primary other than `port` and it answers as one. */
  waitPromoted(oldPort: number, timeoutMs?: number): Promise<number>
  stop(): Promise<void>
}

export interface SentinelOptions {
  /** requirepass of the data nodes (and masterauth, auth-pass). */
  password?: string
  /** requirepass of the sentinels themselves. */
  sentinelPassword?: string
  /** down-after-milliseconds; default 500. */
  downAfterMs?: number
}

/** One primary, two replicas, three sentinels (quorum 2). */
export async function startRedisSentinel(opts: SentinelOptions = {}): Promise<RedisSentinelGroup> {
  const masterName = 'gwmaster'
  const dir = await mkdtemp(join(tmpdir(), 'gw-sentinel-'))
  const data: Node[] = []
  const sentinels: Node[] = []
  const stop = async () => {
    await Promise.all([...sentinels, ...data].map((n) => n.proc.stop('SIGTERM')))
    await rm(dir, { recursive: true, force: true })
  }
  const pw = opts.password
  const auth = pw === undefined ? [] : ['--requirepass', pw, '--masterauth', pw]
  try {
    const primaryPort = await freePort()
    data.push(startServer(dir, primaryPort, auth))
    for (let i = 0; i < 2; i++) {
      const port = await freePort()
      data.push(startServer(dir, port, [...auth, '--replicaof', '127.0.0.1', String(primaryPort)]))
    }
    await Promise.all(data.map(waitUp))
    for (let i = 0; i < 3; i++) {
      const port = await freePort()
      const file = join(dir, `sentinel-${i}.conf`)
      const lines = [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} 2`,
        `sentinel down-after-milliseconds ${masterName} ${opts.downAfterMs ?? 500}`,
        `sentinel failover-timeout ${masterName} 2000`,
        `sentinel parallel-syncs ${masterName} 2`,
        ...(pw === undefined ? [] : [`sentinel auth-pass ${masterName} ${pw}`]),
        ...(opts.sentinelPassword === undefined ? [] : [`requirepass ${opts.sentinelPassword}`]),
      ]
      // Sentinel rewrites its config file as it learns: one file each.
      await writeFile(file, `${lines.join('\n')}\n`)
      sentinels.push({ port, proc: spawnManaged('redis-sentinel', [file], dir) })
    }
    const ask = (n: Node, args: string[]) => redisCli(n.port, args, opts.sentinelPassword)
    // Each sentinel knows the two replicas and the two other sentinels.
    await waitFor('sentinels agree', async () => {
      for (const s of sentinels) {
        if (s.proc.hasExited()) throw new Error(`redis-sentinel exited: ${s.proc.output()}`)
        const replicas = await ask(s, ['SENTINEL', 'REPLICAS', masterName])
        const others = await ask(s, ['SENTINEL', 'SENTINELS', masterName])
        if ((replicas.match(/^name$/gm) ?? []).length !== 2) return false
        if ((others.match(/^name$/gm) ?? []).length !== 2) return false
      }
      return true
    })
    const primaryPortNow = async () => {
      for (const s of sentinels) {
        const answer = await ask(s, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName]).catch(() => '')
        const port = Number(answer.split('\n')[1])
        if (port > 0) return port
      }
      throw new Error('no sentinel names a primary')
    }
    return {
      masterName,
      sentinels: sentinels.map((s) => `127.0.0.1:${s.port}`),
      primaryPort: primaryPortNow,
      async killPrimary() {
        const port = await primaryPortNow()
        const victim = data.find((n) => n.port === port)
        if (!victim) throw new Error(`no data node on ${port}`)
        victim.proc.child.kill('SIGKILL')
        await victim.proc.exited
        return port
      },
      async waitPromoted(oldPort, timeoutMs = 30_000) {
        let promoted = 0
        await waitFor(
          'a replica promoted',
          async () => {
            const port = await primaryPortNow()
            if (port === oldPort) return false
            const role = await redisCli(port, ['ROLE'], pw)
            promoted = port
            return role.startsWith('master')
          },
          timeoutMs,
        )
        return promoted
      },
      stop,
    }
  } catch (err) {
    const out = [...data, ...sentinels].map((n) => n.proc.output()).join('\n')
    await stop()
    throw new Error(`startRedisSentinel: ${(err as Error).message}\n${out.slice(-4000)}`)
  }
}
