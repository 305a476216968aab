// What the full benchmark prints on stdout once every size has run: the table of median cells with
// their ratios to nginx static and the bare handler, and the gateways' memory; or, for a run of
// only some sizes (BENCH_SIZES), one line per cell. Text only: run.ts writes it.

import type { Cell } from './run-cell.js'
import { ROUNDS, SECONDS, START_WARMUP_SECONDS, WARMUP_SECONDS } from './run-settings.js'
import type { Gateway } from './run-setups.js'

/** The table of every cell, as Markdown, and the legend below it. */
export function tableText(cells: readonly Cell[]): string {
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
    // A 256 MiB round may see no CPU tick of the bare handler at all: no ratio then.
    const r = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '-')
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
  let text = `\n${line(head)}\n|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|\n`
  for (const row of rows.slice(1)) text += `${line(row)}\n`
  return (
    text +
    `\nxS = ratio to nginx static, xB = ratio to the bare handler (same size, same run). median of ${ROUNDS} interleaved rounds of ${SECONDS} s (256 MiB: 3 rounds of 5 s) per cell after ${START_WARMUP_SECONDS} s of 1 KiB load at start and ${WARMUP_SECONDS} s warm-up per size;\n` +
    'core0 = nginx workers + the Node process + Redis (gateways only), all pinned to core 0; wrk on core 1.\n' +
    'busy = share of the round each whole core was busy (/proc/stat, softirq included: loopback TCP runs there); a core near 100 limits that setup;\n' +
    'where neither is, waiting did (wake-ups between the processes), not CPU time.\n'
  )
}

/** The gateways' memory: RSS in KiB idle after start and idle before the 256 MiB size, by name. */
export function rssText(
  cells: readonly Cell[],
  gateways: readonly Pick<Gateway, 'name'>[],
  idleStartKiB: ReadonlyMap<string, number>,
  idleBefore256KiB: ReadonlyMap<string, number>,
): string {
  let text =
    '\nGateway RSS (MiB): idle after start / idle before the 256 MiB run / peak during it / largest rise during it\n'
  for (const g of gateways) {
    const cell = cells.find((c) => c.setup === g.name && c.size === '256 MiB')
    text +=
      `  ${g.name.padEnd(20)} ${mib(idleStartKiB.get(g.name))} / ${mib(idleBefore256KiB.get(g.name))} / ` +
      `${(cell?.peakRssMiB ?? 0).toFixed(1)} / ${(cell?.rssRiseMiB ?? 0).toFixed(1)}\n`
  }
  return text
}

/** One line per cell, for a run of only some sizes. */
export function cellLinesText(cells: readonly Cell[]): string {
  let text = ''
  for (const c of cells)
    text +=
      `${c.size} ${c.setup}: ${Math.round(c.rps)} req/s, node ${c.nodeUs?.toFixed(1)} us/req` +
      (c.rssRiseMiB === undefined ? '\n' : `, RSS rise ${c.rssRiseMiB.toFixed(1)} MiB\n`)
  return text
}

function mib(kib: number | undefined): string {
  return kib === undefined ? '-' : (kib / 1024).toFixed(1)
}
