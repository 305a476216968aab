// HTTP benchmark: the gateway held against nginx itself, in one run on one machine.
//
// Servers (nginx, Node, Redis) run pinned to core 0 and wrk to core 1, so "core-0 time per
// request" is the whole server cost of a request. Setups, all behind the project's own nginx
// template except the first:
//   nginx static    nginx sends the files from a plain location (an extra server block)
//   bare handler    Fastify answering X-Accel-Redirect with no checks
//   node streaming  Fastify streaming the file itself
//   gateway         the real server (dist/src/server.js): Redis sessions, 1,000 ACL rules,
//                   decision log at `info` into a file, once with client_cache off and once on
// Run: npm run bench  (BENCH_SECONDS=n: measured seconds per cell, default 2; BENCH_ROUNDS=n: rounds,
// default 5; BENCH_WARMUP_SECONDS=n: the warm-up of every setup before anything is measured,
// default 5)
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type NginxServer, projectRoot, startNginx } from '../test/harness/nginx.js'
import { freePort } from '../test/harness/ports.js'
import { childPids, sleep } from '../test/harness/process.js'
import { startRedis } from '../test/harness/redis.js'
import { busyShare, coreTicks } from './core-ticks.js'
import {
  checkServes,
  gatewayEnv,
  gatewayYaml,
  INTERNAL_PREFIX,
  waitHttp,
  writeAclFolder,
  writeSession,
  writeSized,
} from './gateway-setup.js'
import {
  checkTools,
  cpuMicros,
  type Pinned,
  pinSelf,
  rssKiB,
  sampleRss,
  sampleRssRise,
  spawnPinned,
} from './processes.js'
import { ratioSummary } from './rounds.js'
import { runWrk, type WrkResult, writeReporter } from './wrk.js'

const SERVER_CPU = '0'
const LOAD_CPU = '1'
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2)
// This machine's speed drifts by 10-30% over a minute, so setups are measured in interleaved rounds
// (every setup once, then again, in reverse order every other round so no setup always runs right
// after another) and each cell reports its median round. The targets compare setups round by
// round: a ratio of two runs seconds apart, then the median of those ratios.
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5))
/** Before each size, every setup gets this much of it: caches, buffers, connections. */
const WARMUP_SECONDS = 1
// Before anything is measured, every setup gets this much 1 KiB load. V8 compiles a process's hot
// code in tiers while it runs: the gateway, with far more code on its path than the bare handler,
// reached its steady CPU per request only after about 5 s of load (the bare handler after about
// 3), so its first rounds after a 1 s warm-up measured a process still compiling.
const START_WARMUP_SECONDS = Math.max(0, Number(process.env.BENCH_WARMUP_SECONDS ?? 5))
const SECRET = randomBytes(32).toString('base64url')
const ACL_RULES = 1_000
const MiB = 1024 * 1024

const SIZES = [
  { label: '1 KiB', file: 'bench/1k.bin', bytes: 1024, connections: 64, minSeconds: 0, maxRounds: ROUNDS },
  { label: '1 MiB', file: 'bench/1m.bin', bytes: MiB, connections: 64, minSeconds: 0, maxRounds: ROUNDS },
  // A 256 MiB run lasts about a quarter second: fewer, longer rounds keep the run under 5 minutes.
  { label: '256 MiB', file: 'bench/256m.bin', bytes: 256 * MiB, connections: 4, minSeconds: 5, maxRounds: 3 },
] as const

interface Setup {
  readonly name: string
  /** Where wrk sends its requests (path appended). */
  readonly base: string
  /** The Node process behind nginx, if any. */
  readonly node: Pinned | undefined
  readonly nginx: NginxServer
  /** Redis counts towards this setup's server time. */
  readonly usesRedis: boolean
}

interface Cell {
  readonly setup: string
  readonly size: string
  readonly wrk: WrkResult
  readonly rps: number
  readonly mibps: number
  readonly nodeUs: number | undefined
  readonly core0Us: number
  /** Share of the round each core was busy, whatever ran on it (softirq included), 0 to 1. */
  readonly core0Busy: number
  readonly core1Busy: number
  readonly peakRssMiB: number | undefined
  /** 256 MiB only: how far RSS rose above its lowest point so far during the run (sampleRssRise). */
  readonly rssRiseMiB: number | undefined
}

async function main(): Promise<void> {
  checkTools('npm run bench')
  pinSelf(LOAD_CPU)
  const root = projectRoot()
  const dir = await mkdtemp(join(tmpdir(), 'gw-bench-'))
  const stops: (() => Promise<void>)[] = []
  try {
    const filesRoot = join(dir, 'files')
    await mkdir(join(filesRoot, 'bench'), { recursive: true })
    for (const s of SIZES) await writeSized(join(filesRoot, s.file), s.bytes)
    await writeAclFolder(dir, ACL_RULES)
    const reporter = await writeReporter(dir)

    const redis = await startRedis({ cpuList: SERVER_CPU })
    stops.push(() => redis.stop())
    const cookie = await writeSession(redis.url, SECRET)

    const node = (name: string, script: string, args: string[], env?: NodeJS.ProcessEnv) => {
      const p = spawnPinned(
        name,
        SERVER_CPU,
        process.execPath,
        [script, ...args],
        join(dir, `${name}.log`),
        env,
      )
      stops.push(() => p.stop())
      return p
    }
    const benchDir = join(root, 'dist/bench')
    const barePort = await freePort()
    const bare = node('bare', join(benchDir, 'bare-handler.js'), [String(barePort), INTERNAL_PREFIX])
    const streamPort = await freePort()
    const stream = node('stream', join(benchDir, 'node-stream.js'), [String(streamPort), filesRoot])
    const gateways: { name: string; port: number; proc: Pinned }[] = []
    for (const cache of [false, true]) {
      const name = `gateway-cache-${cache ? 'on' : 'off'}`
      const port = await freePort()
      const config = join(dir, `${name}.yaml`)
      await writeFile(config, gatewayYaml(filesRoot, redis.url, cache))
      // BENCH_CPU_PROF=<dir>: each gateway writes a V8 CPU profile there when it stops.
      const prof = process.env.BENCH_CPU_PROF
      const script = join(root, 'dist/src/server.js')
      const proc = node(
        name,
        prof ? '--cpu-prof' : script,
        prof ? ['--cpu-prof-dir', prof, script] : [],
        gatewayEnv(config, port, SECRET),
      )
      gateways.push({ name, port, proc })
    }
    for (const [port, proc] of [
      [barePort, bare],
      [streamPort, stream],
      ...gateways.map((g) => [g.port, g.proc] as const),
    ] as const)
      await waitHttp(port, proc, proc.name.startsWith('gateway'))

    const staticPort = await freePort()
    const nginxFor = async (upstreamPort: number, extra?: string) => {
      const n = await startNginx({
        gatewayPort: upstreamPort,
        filesRoot,
        internalPrefix: INTERNAL_PREFIX,
        cpuList: SERVER_CPU,
        accessLog: false,
        ...(extra ? { extraHttpConfig: extra } : {}),
      })
      stops.push(() => n.stop())
      return n
    }
    const bareNginx = await nginxFor(barePort, staticServer(staticPort, filesRoot))
    const setups: Setup[] = [
      {
        name: 'nginx static',
        base: `http://127.0.0.1:${staticPort}/static/`,
        node: undefined,
        nginx: bareNginx,
        usesRedis: false,
      },
      {
        name: 'bare handler',
        base: `${bareNginx.baseUrl}/download/`,
        node: bare,
        nginx: bareNginx,
        usesRedis: false,
      },
    ]
    const streamNginx = await nginxFor(streamPort)
    setups.push({
      name: 'node streaming',
      base: `${streamNginx.baseUrl}/download/`,
      node: stream,
      nginx: streamNginx,
      usesRedis: false,
    })
    for (const g of gateways) {
      const n = await nginxFor(g.port)
      setups.push({
        name: g.name,
        base: `${n.baseUrl}/download/`,
        node: g.proc,
        nginx: n,
        usesRedis: true,
      })
    }

    // The gateways run right after the bare handler and before node streaming, so the pairs the
    // targets compare are measured close together.
    const ROUND_ORDER = [
      'nginx static',
      'bare handler',
      'gateway-cache-on',
      'gateway-cache-off',
      'node streaming',
    ]
    const roundOrder = [...setups].sort((a, b) => ROUND_ORDER.indexOf(a.name) - ROUND_ORDER.indexOf(b.name))

    // Every setup must answer the real bytes before anything is timed.
    for (const s of setups) await checkServes(s.name, s.base + SIZES[0].file, cookie, SIZES[0].bytes)

    const idleStart = new Map(gateways.map((g) => [g.name, rssKiB(g.proc.pid)]))
    if (START_WARMUP_SECONDS > 0)
      for (const s of setups)
        await runWrk({
          url: s.base + SIZES[0].file,
          connections: SIZES[0].connections,
          seconds: START_WARMUP_SECONDS,
          cookie,
          reporter,
          cpu: LOAD_CPU,
        })
    const cells: Cell[] = []
    // Every round of every setup, by size, in round order: the targets pair them round by round.
    const roundsBySize = new Map<string, Map<string, Cell[]>>()
    const idleBefore256 = new Map<string, number>()
    // BENCH_SIZES="1 KiB,1 MiB" runs only those sizes (for profiling); the report needs all three.
    const only = process.env.BENCH_SIZES?.split(',')
    for (const size of SIZES.filter((s) => !only || only.includes(s.label))) {
      if (size.bytes === 256 * MiB) {
        await sleep(1000)
        for (const g of gateways) idleBefore256.set(g.name, rssKiB(g.proc.pid))
      }
      const run = (s: Setup, seconds: number) =>
        runWrk({
          url: s.base + size.file,
          connections: size.connections,
          seconds,
          // Every setup gets the same request, the browser's Cookie header included: the download
          // host sees the site's cookies whether or not it reads them.
          cookie,
          reporter,
          cpu: LOAD_CPU,
        })
      for (const s of setups) await run(s, WARMUP_SECONDS)
      const rounds = new Map<string, Cell[]>(setups.map((s) => [s.name, []]))
      roundsBySize.set(size.label, rounds)
      for (let round = 0; round < Math.min(ROUNDS, size.maxRounds); round++) {
        for (const s of round % 2 === 0 ? roundOrder : [...roundOrder].reverse()) {
          const pids = [
            ...childPids(s.nginx.pid),
            ...(s.node ? [s.node.pid] : []),
            ...(s.usesRedis ? [redis.pid] : []),
          ]
          const cpuBefore = pids.map(cpuMicros)
          const nodeBefore = s.node ? cpuMicros(s.node.pid) : 0
          const rss = s.node ? sampleRss(s.node.pid) : undefined
          // The peak alone cannot tell growth from garbage V8 still holds from earlier sizes: at
          // 256 MiB the rise above RSS's own low point is sampled too (the RSS target).
          const rise = s.node && size.bytes === 256 * MiB ? sampleRssRise(s.node.pid) : undefined
          const coresBefore = [coreTicks(SERVER_CPU), coreTicks(LOAD_CPU)] as const
          const w = await run(s, Math.max(SECONDS, size.minSeconds))
          const core0Busy = busyShare(coresBefore[0], coreTicks(SERVER_CPU))
          const core1Busy = busyShare(coresBefore[1], coreTicks(LOAD_CPU))
          const riseKiB = rise?.stop().riseKiB
          const peak = rss?.stop()
          const core0 = pids.reduce((sum, pid, i) => sum + cpuMicros(pid) - (cpuBefore[i] as number), 0)
          rounds.get(s.name)?.push({
            setup: s.name,
            size: size.label,
            wrk: w,
            rps: w.requests / w.seconds,
            mibps: w.bytes / MiB / w.seconds,
            nodeUs: s.node ? (cpuMicros(s.node.pid) - nodeBefore) / w.requests : undefined,
            core0Us: core0 / w.requests,
            core0Busy,
            core1Busy,
            peakRssMiB: peak === undefined ? undefined : peak / 1024,
            rssRiseMiB: riseKiB === undefined ? undefined : riseKiB / 1024,
          })
          process.stderr.write(
            `  ${size.label.padEnd(8)} ${s.name.padEnd(20)} round ${round + 1}: ${Math.round(w.requests / w.seconds)} req/s\n`,
          )
        }
      }
      for (const s of setups) cells.push(medianCell(rounds.get(s.name) ?? []))
    }
    if (only) {
      for (const c of cells)
        process.stdout.write(
          `${c.size} ${c.setup}: ${Math.round(c.rps)} req/s, node ${c.nodeUs?.toFixed(1)} us/req` +
            (c.rssRiseMiB === undefined ? '\n' : `, RSS rise ${c.rssRiseMiB.toFixed(1)} MiB\n`),
        )
      return
    }
    printTable(cells)
    process.stdout.write(
      '\nGateway RSS (MiB): idle after start / idle before the 256 MiB run / peak during it / largest rise during it\n',
    )
    for (const g of gateways) {
      const cell = cells.find((c) => c.setup === g.name && c.size === '256 MiB')
      process.stdout.write(
        `  ${g.name.padEnd(20)} ${mib(idleStart.get(g.name))} / ${mib(idleBefore256.get(g.name))} / ` +
          `${(cell?.peakRssMiB ?? 0).toFixed(1)} / ${(cell?.rssRiseMiB ?? 0).toFixed(1)}\n`,
      )
    }
    printTargets(cells, roundsBySize)
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}

function staticServer(port: number, filesRoot: string): string {
  return `    server {
        listen 127.0.0.1:${port};
        # The same file cache as the download template's internal location, so the baseline is
        # not handicapped by an open per request that the gateway's setup does not pay.
        location /static/ {
            alias ${filesRoot}/;
            sendfile on;
            tcp_nopush on;
            open_file_cache max=1000 inactive=20s;
            open_file_cache_valid 1s;
        }
    }`
}

function printTable(cells: readonly Cell[]): void {
  const head = [
    'size',
    'setup',
    'req/s',
    'p50 ms',
    'p99 ms',
    'MiB/s',
    'node us/req',
    'core0 us/req',
    'busy core0|core1 %',
    'node peak RSS MiB',
    'req/s xS|xB',
    'p50 xS|xB',
    'p99 xS|xB',
    'MiB/s xS|xB',
    'node us xB',
    'core0 us xS|xB',
    'RSS xB',
  ]
  const rows: string[][] = [head]
  for (const c of cells) {
    const st = cells.find((x) => x.size === c.size && x.setup === 'nginx static') as Cell
    const bare = cells.find((x) => x.size === c.size && x.setup === 'bare handler') as Cell
    const r = (a: number, b: number) => (a / b).toFixed(2)
    const both = (f: (x: Cell) => number) => `${r(f(c), f(st))}|${r(f(c), f(bare))}`
    rows.push([
      c.size,
      c.setup + (c.wrk.errors > 0 ? ` (${c.wrk.errors} errors!)` : ''),
      Math.round(c.rps).toString(),
      (c.wrk.p50Us / 1000).toFixed(2),
      (c.wrk.p99Us / 1000).toFixed(2),
      c.mibps.toFixed(0),
      c.nodeUs === undefined ? '-' : c.nodeUs.toFixed(1),
      c.core0Us.toFixed(1),
      `${Math.round(c.core0Busy * 100)}|${Math.round(c.core1Busy * 100)}`,
      c.peakRssMiB === undefined ? '-' : c.peakRssMiB.toFixed(1),
      both((x) => x.rps),
      both((x) => x.wrk.p50Us),
      both((x) => x.wrk.p99Us),
      both((x) => x.mibps),
      c.nodeUs === undefined ? '-' : r(c.nodeUs, bare.nodeUs as number),
      both((x) => x.core0Us),
      c.peakRssMiB === undefined ? '-' : r(c.peakRssMiB, bare.peakRssMiB as number),
    ])
  }
  const widths = head.map((_, i) => Math.max(...rows.map((row) => (row[i] as string).length)))
  const line = (row: string[]) =>
    `| ${row.map((v, i) => (i < 2 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number))).join(' | ')} |`
  process.stdout.write(
    `\n${line(head)}\n|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|\n`,
  )
  for (const row of rows.slice(1)) process.stdout.write(`${line(row)}\n`)
  process.stdout.write(
    `\nxS = ratio to nginx static, xB = ratio to the bare handler (same size, same run). median of ${ROUNDS} interleaved rounds of ${SECONDS} s (256 MiB: 3 rounds of 5 s) per cell after ${START_WARMUP_SECONDS} s of 1 KiB load at start and ${WARMUP_SECONDS} s warm-up per size;\n` +
      'core0 = nginx workers + the Node process + Redis (gateways only), all pinned to core 0; wrk on core 1.\n' +
      'busy = share of the round each whole core was busy (/proc/stat, softirq included: loopback TCP runs there); a core near 100 limits that setup;\n' +
      'where neither is, waiting did (wake-ups between the processes), not CPU time.\n',
  )
}

function printTargets(
  cells: readonly Cell[],
  roundsBySize: ReadonlyMap<string, ReadonlyMap<string, readonly Cell[]>>,
): void {
  const get = (setup: string, size: string) => cells.find((c) => c.setup === setup && c.size === size) as Cell
  // The ratio of `a` to `b` in each round (runs seconds apart), then their median and range.
  const paired = (a: string, b: string, size: string, f: (c: Cell) => number) => {
    const rounds = roundsBySize.get(size)
    const ra = rounds?.get(a) ?? []
    const rb = rounds?.get(b) ?? []
    return {
      ...ratioSummary(ra.map(f), rb.map(f)),
      // wrk counts error answers (a fast 503, say) as requests: such a round proves nothing.
      roundsWithErrors: [...ra, ...rb].filter((c) => c.wrk.errors > 0).length,
    }
  }
  const rps = (c: Cell) => c.rps
  const mibps = (c: Cell) => c.mibps
  process.stdout.write('\nTargets (median of the per-round ratios, and their range)\n')
  for (const g of ['gateway-cache-off', 'gateway-cache-on']) {
    const checks: [string, ReturnType<typeof paired>, number][] = [
      ['1 KiB req/s vs bare handler', paired(g, 'bare handler', '1 KiB', rps), 0.9],
      ['1 KiB req/s vs node streaming', paired(g, 'node streaming', '1 KiB', rps), 3],
      ['1 MiB req/s vs nginx static', paired(g, 'nginx static', '1 MiB', rps), 0.9],
      ['256 MiB MiB/s vs nginx static', paired(g, 'nginx static', '256 MiB', mibps), 0.95],
    ]
    for (const [what, r, target] of checks) {
      const verdict =
        r.roundsWithErrors > 0
          ? `MISSED (${r.roundsWithErrors} rounds with errors)`
          : r.median >= target
            ? 'met'
            : 'MISSED'
      process.stdout.write(
        `  ${g.padEnd(18)} ${what.padEnd(32)} ${r.median.toFixed(2)}x [${r.min.toFixed(2)}-${r.max.toFixed(2)}] (target >= ${target}) ${verdict}\n`,
      )
    }
    const rise = get(g, '256 MiB').rssRiseMiB
    const verdict = rise !== undefined && rise <= 10 ? 'met' : 'MISSED'
    process.stdout.write(
      `  ${g.padEnd(18)} ${'256 MiB RSS rise during the run'.padEnd(32)} ${rise?.toFixed(1) ?? '-'} MiB (target <= 10) ${verdict}\n`,
    )
  }
  // No gateway of this design can beat the handler that answers X-Accel-Redirect with no checks at
  // all, so its own ratio, from the same rounds, says whether a 1 MiB miss is the gateway's.
  const floor = paired('bare handler', 'nginx static', '1 MiB', rps)
  process.stdout.write(
    `\nThe floor: bare handler 1 MiB req/s vs nginx static ${floor.median.toFixed(2)}x [${floor.min.toFixed(2)}-${floor.max.toFixed(2)}]` +
      ' (a gateway can at best match it)\n',
  )
}

function mib(kib: number | undefined): string {
  return kib === undefined ? '-' : (kib / 1024).toFixed(1)
}

await main()

/** The round with the median req/s; its peak RSS is the highest seen in any round. */
function medianCell(rounds: readonly Cell[]): Cell {
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps)
  const median = sorted[Math.floor(sorted.length / 2)] as Cell
  // Memory is reported at its worst round, not its median one.
  const worst = (f: (c: Cell) => number | undefined) => {
    const values = rounds.map(f).filter((v): v is number => v !== undefined)
    return values.length > 0 ? Math.max(...values) : undefined
  }
  return { ...median, peakRssMiB: worst((c) => c.peakRssMiB), rssRiseMiB: worst((c) => c.rssRiseMiB) }
}
