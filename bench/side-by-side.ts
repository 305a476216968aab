// A/B comparison of gateway builds, measured the way the "side by side" figures of bench/NOTES.md are.
//
// `npm run bench` measures setups one after another, and this machine's speed drifts by 10-30%
// within seconds, so a change worth 2-3% of the gateway's CPU disappears in its noise. Here every
// build runs at once instead: each behind its own nginx, all pinned to the servers' core with one
// Redis, each loaded by its own wrk from the load generator's core at the same time. A drift then
// slows every build alike, and what is compared is the Node CPU each build spends per download.
//
// Usage: npm run bench:ab -- <build> <build> [...]
//   <build>  a project folder holding a built dist/src/server.js (a git worktree after `npm run
//            build`, say), a path to server.js itself, or `bare` for the bare X-Accel handler.
//            A project folder runs behind nginx rendered from its own template, so a change to
//            the nginx side is a build too; the others behind this project's template.
// The first build is the reference: every other one is reported as its ratio to it, round by
// round, then the median and range of those ratios. The builds start their load in turn, first
// one then another, so none is always first. Give the same build twice to see the noise floor
// (A/A). BENCH_AB_ROUNDS (default 10), BENCH_AB_SECONDS (per round, default 3),
// BENCH_AB_WARMUP_SECONDS (default 8), BENCH_AB_CACHE=off (session cache off),
// BENCH_AB_HEADERS=browser (each request also carries a desktop browser's headers),
// BENCH_AB_SESSION=flask|rails|django (the gateways read that framework's signed or encrypted
// session cookie, built as the full bench builds it, instead of the connect session in Redis),
// BENCH_AB_CREDENTIAL=link or token (with the connect session's gateway: downloads by share link
// or `Authorization: Bearer` instead of the cookie, as the link and token rows of `npm run bench`).
// Printed per build: Node CPU and its nginx's CPU per download, and req/s.

import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { type NginxServer, projectRoot, startNginx, TEMPLATE_PATH } from '../test/harness/nginx.js'
import { freePort } from '../test/harness/ports.js'
import { childPids } from '../test/harness/process.js'
import { startRedis } from '../test/harness/redis.js'
import { BROWSER_HEADERS } from './browser-headers.js'
import { benchCredentials } from './extra-setups.js'
import { djangoGateway, type FrameworkGateway, flaskGateway, railsGateway } from './framework-sessions.js'
import * as setup from './gateway-setup.js'
import { checkTools, cpuMicros, type Pinned, pinSelf, spawnPinned } from './processes.js'
import { ratioSummary } from './rounds.js'
import { runWrk, writeReporter } from './wrk.js'

const SERVER_CPU = '0'
const LOAD_CPU = '1'
const ROUNDS = Math.max(1, Number(process.env.BENCH_AB_ROUNDS ?? 10))
const SECONDS = Math.max(1, Number(process.env.BENCH_AB_SECONDS ?? 3))
const WARMUP_SECONDS = Math.max(0, Number(process.env.BENCH_AB_WARMUP_SECONDS ?? 8))
const CLIENT_CACHE = process.env.BENCH_AB_CACHE !== 'off'
const EXTRA_HEADERS = process.env.BENCH_AB_HEADERS === 'browser' ? BROWSER_HEADERS : []
const FRAMEWORKS: Readonly<Record<string, (filesRoot: string) => FrameworkGateway>> = {
  flask: flaskGateway,
  rails: railsGateway,
  django: djangoGateway,
}
const SESSION = process.env.BENCH_AB_SESSION ?? 'connect'
const CREDENTIAL = process.env.BENCH_AB_CREDENTIAL ?? 'session'
const ACL_RULES = 1_000
const TOTAL_CONNECTIONS = 64
const FILE = 'bench/1k.bin'

/** Split between the builds, so the core sees as many connections as in `npm run bench`. */
function connectionsEach(builds: number): number {
  return Math.max(1, Math.floor(TOTAL_CONNECTIONS / builds))
}

interface Build {
  readonly label: string
  readonly script: string
  readonly isGateway: boolean
  /** The nginx template the build runs behind: a project folder's own, else this project's. */
  readonly template: string
}

interface Running extends Build {
  readonly proc: Pinned
  readonly nginx: NginxServer
  readonly nginxWorkers: readonly number[]
}

/** What one round measured for one build. */
interface Sample {
  readonly rps: number
  readonly nodeUs: number
  /** CPU of the build's nginx workers per download: what the build's reply costs nginx. */
  readonly nginxUs: number
}

function parseBuild(arg: string, index: number): Build {
  const label = `#${index + 1} ${arg}`
  if (arg === 'bare') {
    return {
      label,
      script: join(projectRoot(), 'dist/bench/bare-handler.js'),
      isGateway: false,
      template: TEMPLATE_PATH,
    }
  }
  const isScript = arg.endsWith('.js')
  const script = isScript ? resolve(arg) : resolve(arg, 'dist/src/server.js')
  if (!existsSync(script)) throw new Error(`${arg}: no ${script} (build it first: npm run build)`)
  const own = resolve(arg, 'nginx/templates/download.conf.template')
  return { label, script, isGateway: true, template: !isScript && existsSync(own) ? own : TEMPLATE_PATH }
}

async function main(): Promise<void> {
  const builds = process.argv.slice(2).map(parseBuild)
  if (builds.length < 2) {
    process.stderr.write('usage: npm run bench:ab -- <build> <build> [...] (see bench/side-by-side.ts)\n')
    process.exit(2)
  }
  const framework = SESSION === 'connect' ? undefined : FRAMEWORKS[SESSION]
  if (SESSION !== 'connect' && framework === undefined) {
    process.stderr.write(`BENCH_AB_SESSION: ${SESSION} is none of connect, flask, rails, django\n`)
    process.exit(2)
  }
  // The token lives in the connect gateway's Redis; the framework gateways keep none there.
  if (!['session', 'link', 'token'].includes(CREDENTIAL) || (CREDENTIAL !== 'session' && framework)) {
    process.stderr.write(
      `BENCH_AB_CREDENTIAL: ${CREDENTIAL} is none of link, token (with the connect session only)\n`,
    )
    process.exit(2)
  }
  checkTools('npm run bench:ab')
  pinSelf(LOAD_CPU)
  const dir = await mkdtemp(join(tmpdir(), 'gw-bench-ab-'))
  const stops: (() => Promise<void>)[] = []
  try {
    const filesRoot = join(dir, 'files')
    await mkdir(join(filesRoot, 'bench'), { recursive: true })
    await setup.writeSized(join(filesRoot, FILE), 1024)
    await setup.writeAclFolder(dir, ACL_RULES)
    const reporter = await writeReporter(dir)
    const redis = await startRedis({ cpuList: SERVER_CPU })
    stops.push(() => redis.stop())
    const secret = randomBytes(32).toString('base64url')
    const cookieGateway = framework?.(filesRoot)
    // The framework's cookie among others, as the full bench sends it.
    const sessionCookie = cookieGateway
      ? `theme=dark; ${cookieGateway.cookie}; _ga=GA1.2.3456`
      : await setup.writeSession(redis.url, secret)
    const credentials = CREDENTIAL === 'session' ? undefined : await benchCredentials(redis.url)
    // A link or token download carries no cookie: it is decided by the credential alone.
    const cookie = credentials === undefined ? sessionCookie : undefined
    const query = CREDENTIAL === 'link' ? (credentials?.query ?? '') : ''
    const bearer = CREDENTIAL === 'token' ? { authorization: `Bearer ${credentials?.token}` } : undefined
    const headers = bearer ? [...EXTRA_HEADERS, `Authorization: ${bearer.authorization}`] : EXTRA_HEADERS
    const config = join(dir, 'gateway.yaml')
    await writeFile(config, cookieGateway?.yaml ?? setup.gatewayYaml(filesRoot, redis.url, CLIENT_CACHE))

    const running: Running[] = []
    for (const [i, build] of builds.entries()) {
      const port = await freePort()
      const name = `build-${i + 1}`
      const proc = spawnPinned(
        name,
        SERVER_CPU,
        process.execPath,
        build.isGateway ? [build.script] : [build.script, String(port), setup.INTERNAL_PREFIX],
        join(dir, `${name}.log`),
        { ...setup.gatewayEnv(config, port, secret), ...cookieGateway?.env },
      )
      stops.push(() => proc.stop())
      await setup.waitHttp(port, proc, build.isGateway)
      const nginx = await startNginx({
        gatewayPort: port,
        filesRoot,
        internalPrefix: setup.INTERNAL_PREFIX,
        cpuList: SERVER_CPU,
        accessLog: false,
        templatePath: build.template,
      })
      stops.push(() => nginx.stop())
      await setup.checkServes(build.label, `${nginx.baseUrl}/download/${FILE}${query}`, cookie, 1024, bearer)
      running.push({ ...build, proc, nginx, nginxWorkers: childPids(nginx.pid) })
    }

    const connections = connectionsEach(running.length)
    const nginxCpu = (b: Running) => b.nginxWorkers.reduce((sum, pid) => sum + cpuMicros(pid), 0)
    const measure = async (b: Running, seconds: number): Promise<Sample> => {
      const before = cpuMicros(b.proc.pid)
      const nginxBefore = nginxCpu(b)
      const w = await runWrk({
        url: `${b.nginx.baseUrl}/download/${FILE}${query}`,
        connections,
        seconds,
        cookie,
        headers,
        reporter,
        cpu: LOAD_CPU,
      })
      // wrk counts error answers (a fast 503, say) as requests: such a round proves nothing.
      if (w.errors > 0) throw new Error(`${b.label}: wrk saw ${w.errors} errors`)
      return {
        rps: w.requests / w.seconds,
        nodeUs: (cpuMicros(b.proc.pid) - before) / w.requests,
        nginxUs: (nginxCpu(b) - nginxBefore) / w.requests,
      }
    }
    // Every build under load at once, their wrk started in turn from build `first` on; the samples
    // come back in the builds' own order.
    const loadAll = async (seconds: number, first: number): Promise<Sample[]> => {
      const samples: Sample[] = []
      await Promise.all(
        running.map((_, k) => {
          const i = (first + k) % running.length
          return measure(running[i] as Running, seconds).then((sample) => {
            samples[i] = sample
          })
        }),
      )
      return samples
    }

    if (WARMUP_SECONDS > 0) await loadAll(WARMUP_SECONDS, 0)
    const rounds: Sample[][] = []
    for (let round = 0; round < ROUNDS; round++) {
      const samples = await loadAll(SECONDS, round % running.length)
      rounds.push(samples)
      process.stderr.write(
        `  round ${round + 1}: ${samples
          .map(
            (s, i) =>
              `${i + 1}: ${Math.round(s.rps)} req/s node ${s.nodeUs.toFixed(1)} us nginx ${s.nginxUs.toFixed(1)} us`,
          )
          .join(' | ')}\n`,
      )
    }
    printSummary(running, rounds)
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}

function printSummary(running: readonly Running[], rounds: readonly Sample[][]): void {
  const column = (i: number) => rounds.map((r) => r[i] as Sample)
  const reference = column(0)
  process.stdout.write(
    `\n${rounds.length} rounds of ${SECONDS} s, all builds loaded at once (${connectionsEach(running.length)} connections each), 1 KiB, ${CREDENTIAL !== 'session' ? `by ${CREDENTIAL}, cache ${CLIENT_CACHE ? 'on' : 'off'}` : SESSION === 'connect' ? `session cache ${CLIENT_CACHE ? 'on' : 'off'}` : `${SESSION} session cookie`}${EXTRA_HEADERS.length > 0 ? ', browser headers' : ''}.\n` +
      `Reference: ${running[0]?.label}\n`,
  )
  for (const [i, b] of running.entries()) {
    if (i === 0) continue
    // One figure of every round, this build's against the reference's, as "median [min-max]".
    const ratio = (f: (s: Sample) => number) => {
      const r = ratioSummary(column(i).map(f), reference.map(f))
      return `${r.median.toFixed(2)}x [${r.min.toFixed(2)}-${r.max.toFixed(2)}]`
    }
    process.stdout.write(
      `  ${b.label}: Node CPU per download ${ratio((s) => s.nodeUs)} the reference's, ` +
        `nginx CPU ${ratio((s) => s.nginxUs)}, req/s ${ratio((s) => s.rps)}\n`,
    )
  }
  process.stdout.write(
    'Below 1 is less CPU. Builds loaded at once share one core, so their req/s depend on each other; CPU per download is the figure to compare.\n',
  )
}

await main()
