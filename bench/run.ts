// HTTP benchmark: the gateway held against nginx itself, in one run on one machine.
//
// Servers (nginx, Node, Redis) run pinned to core 0 and wrk to core 1, so "core-0 time per
// request" is the whole server cost of a request. This file runs the sizes and rounds; the setups
// are started by run-setups.ts, a round is measured by run-round.ts into a cell (run-cell.ts), and
// the cells are printed by run-report.ts (the table) and run-targets.ts (the targets).
// Run: npm run bench  (BENCH_SECONDS=n: measured seconds per cell, default 2; BENCH_ROUNDS=n: rounds,
// default 5; BENCH_WARMUP_SECONDS=n: the warm-up of every setup before anything is measured,
// default 5; all knobs in run-settings.ts)
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sleep } from '../test/harness/process.js'
import { writeSized } from './gateway-setup.js'
import { checkTools, pinSelf, rssKiB } from './processes.js'
import { type Cell, medianCell } from './run-cell.js'
import { cellLinesText, rssText, tableText } from './run-report.js'
import { measureRound } from './run-round.js'
import {
  LOAD_CPU,
  MiB,
  ONLY_SIZES,
  ROUNDS,
  SECONDS,
  SIZES,
  type Size,
  START_WARMUP_SECONDS,
  WARMUP_SECONDS,
} from './run-settings.js'
import { type Setup, startSetups } from './run-setups.js'
import { targetsText } from './run-targets.js'
import { runWrk, writeReporter } from './wrk.js'

async function main(): Promise<void> {
  checkTools('npm run bench')
  pinSelf(LOAD_CPU)
  const dir = await mkdtemp(join(tmpdir(), 'gw-bench-'))
  const stops: (() => Promise<void>)[] = []
  try {
    const filesRoot = join(dir, 'files')
    await mkdir(join(filesRoot, 'bench'), { recursive: true })
    for (const s of SIZES) await writeSized(join(filesRoot, s.file), s.bytes)
    const { setups, roundOrder, gateways, redisPid, cookie } = await startSetups(dir, filesRoot, stops)
    // One wrk reporter per kind of answer: the file, or the refusal a setup measures.
    const reporters = new Map<number | undefined, string>()
    for (const status of new Set(setups.map((s) => s.refusal?.status)))
      reporters.set(status, await writeReporter(dir, status))
    const reporterOf = (s: Setup) => reporters.get(s.refusal?.status) as string

    const idleStart = new Map(gateways.map((g) => [g.name, rssKiB(g.proc.pid)]))
    const measuredAt = (size: Size) => (s: Setup) => !s.onlySizes || s.onlySizes.includes(size.label)
    if (START_WARMUP_SECONDS > 0)
      for (const s of setups.filter(measuredAt(SIZES[0])))
        await runWrk({
          url: s.base + (s.refusal?.path ?? SIZES[0].file) + (s.query ?? ''),
          connections: SIZES[0].connections,
          seconds: START_WARMUP_SECONDS,
          ...requestOf(s, cookie),
          reporter: reporterOf(s),
          cpu: LOAD_CPU,
        })
    const cells: Cell[] = []
    // Every round of every setup, by size, in round order: the targets pair them round by round.
    const roundsBySize = new Map<string, Map<string, Cell[]>>()
    const idleBefore256 = new Map<string, number>()
    for (const size of SIZES.filter((s) => !ONLY_SIZES || ONLY_SIZES.includes(s.label))) {
      if (size.bytes === 256 * MiB) {
        await sleep(1000)
        for (const g of gateways) idleBefore256.set(g.name, rssKiB(g.proc.pid))
      }
      const run = (s: Setup, seconds: number) =>
        runWrk({
          url: s.base + (s.refusal?.path ?? size.file) + (s.query ?? ''),
          connections: size.connections,
          seconds,
          // Every setup gets the same request, the browser's Cookie header included: the download
          // host sees the site's cookies whether or not it reads them. Link and token setups
          // stand for scripts and recipients of a link, which send their credential instead.
          ...requestOf(s, cookie),
          reporter: reporterOf(s),
          cpu: LOAD_CPU,
        })
      const sized = setups.filter(measuredAt(size))
      const sizedOrder = roundOrder.filter(measuredAt(size))
      for (const s of sized) await run(s, WARMUP_SECONDS)
      const rounds = new Map<string, Cell[]>(sized.map((s) => [s.name, []]))
      roundsBySize.set(size.label, rounds)
      for (let round = 0; round < Math.min(ROUNDS, size.maxRounds); round++) {
        for (const s of round % 2 === 0 ? sizedOrder : [...sizedOrder].reverse()) {
          const cell = await measureRound(s, size, redisPid, Math.max(SECONDS, size.minSeconds), (seconds) =>
            run(s, seconds),
          )
          rounds.get(s.name)?.push(cell)
          process.stderr.write(
            `  ${size.label.padEnd(8)} ${s.name.padEnd(20)} round ${round + 1}: ${Math.round(cell.rps)} req/s\n`,
          )
        }
      }
      for (const s of sized) cells.push(medianCell(rounds.get(s.name) ?? []))
    }
    if (ONLY_SIZES) {
      process.stdout.write(cellLinesText(cells))
      return
    }
    process.stdout.write(tableText(cells))
    process.stdout.write(rssText(cells, gateways, idleStart, idleBefore256))
    process.stdout.write(targetsText(cells, roundsBySize))
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}

function requestOf(s: Setup, cookie: string): { cookie: string | undefined; headers?: readonly string[] } {
  if (s.query || s.headers) return { cookie: undefined, ...(s.headers ? { headers: s.headers } : {}) }
  return { cookie: s.cookie ?? cookie }
}

await main()
