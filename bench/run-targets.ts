// The full benchmark's targets and decision-path rows, each a ratio of a setup to a baseline taken
// round by round (runs seconds apart) and summarised by its median and range, with a verdict.
//
// Each target is anchored on the floor a gateway of this design can reach: at 1 KiB and 1 MiB the
// bare handler (nginx in front of a handler that answers X-Accel-Redirect with no checks), since
// even that handler reaches only 0.7-0.9x nginx static at 1 MiB; at 256 MiB nginx static itself,
// since there nginx's sending is all that counts.

import { EDGE_SETUP, EDGE_TARGET } from './edge-setup.js'
import { ratioSummary } from './rounds.js'
import type { Cell } from './run-cell.js'

/** Every round's cell, by size label, then by setup name, in the order the rounds ran. */
export type RoundsBySize = ReadonlyMap<string, ReadonlyMap<string, readonly Cell[]>>

/** One target line: `setup`'s figure against `baseline`'s at `size`, at least `atLeast`. */
interface Target {
  readonly setup: string
  readonly size: string
  readonly baseline: string
  readonly figure: 'req/s' | 'MiB/s'
  readonly atLeast: number
}

const BARE = 'bare handler'
const STATIC = 'nginx static'

export const TARGETS: readonly Target[] = [
  { setup: 'gateway-cache-on', size: '1 KiB', baseline: BARE, figure: 'req/s', atLeast: 0.9 },
  { setup: 'gateway-cache-off', size: '1 KiB', baseline: BARE, figure: 'req/s', atLeast: 0.75 },
  { setup: 'gateway-cache-on', size: '1 MiB', baseline: BARE, figure: 'req/s', atLeast: 0.95 },
  { setup: 'gateway-cache-off', size: '1 MiB', baseline: BARE, figure: 'req/s', atLeast: 0.95 },
  { setup: 'gateway-cache-on', size: '256 MiB', baseline: STATIC, figure: 'MiB/s', atLeast: 0.95 },
  { setup: 'gateway-cache-off', size: '256 MiB', baseline: STATIC, figure: 'MiB/s', atLeast: 0.95 },
  // A link or token download costs no more than a session download on the same gateway: with the
  // cache off each reads Redis once, with it on each is answered from memory.
  { setup: 'gateway link', size: '1 KiB', baseline: 'gateway-cache-off', figure: 'req/s', atLeast: 1 },
  { setup: 'gateway token', size: '1 KiB', baseline: 'gateway-cache-off', figure: 'req/s', atLeast: 1 },
  { setup: 'gateway link cached', size: '1 KiB', baseline: 'gateway-cache-on', figure: 'req/s', atLeast: 1 },
  { setup: 'gateway token cached', size: '1 KiB', baseline: 'gateway-cache-on', figure: 'req/s', atLeast: 1 },
  // nginx alone checks an edge link: no Node, so its anchor is nginx static.
  { setup: EDGE_SETUP, size: '1 KiB', baseline: STATIC, figure: 'req/s', atLeast: EDGE_TARGET },
]

/** The 256 MiB runs' RSS may rise by this much at most: no byte passes through Node. */
const RSS_RISE_MIB = 10

/** A decision path below this share of the bare handler's rate needs its reason in the docs. */
export const EXPLAIN_BELOW = 0.75

export function targetsText(cells: readonly Cell[], roundsBySize: RoundsBySize): string {
  const rounds = (setup: string, size: string) => roundsBySize.get(size)?.get(setup) ?? []
  // The ratio of `a` to `b` in each round (runs seconds apart), then their median and range.
  const paired = (a: string, b: string, size: string, f: (c: Cell) => number) => {
    const ra = rounds(a, size)
    const rb = rounds(b, size)
    return {
      ...ratioSummary(ra.map(f), rb.map(f)),
      // wrk counts error answers (a fast 503, say) as requests: such a round proves nothing.
      roundsWithErrors: [...ra, ...rb].filter((c) => c.wrk.errors > 0).length,
    }
  }
  const range = (r: { median: number; min: number; max: number }) =>
    `${r.median.toFixed(2)}x [${r.min.toFixed(2)}-${r.max.toFixed(2)}]`
  let text = '\nTargets (median of the per-round ratios, and their range)\n'
  for (const t of TARGETS) {
    // Reports from before a setup existed, or runs of some sizes only, have no rounds for it.
    if (rounds(t.setup, t.size).length === 0 || rounds(t.baseline, t.size).length === 0) continue
    const r = paired(t.setup, t.baseline, t.size, t.figure === 'req/s' ? (c) => c.rps : (c) => c.mibps)
    const verdict =
      r.roundsWithErrors > 0
        ? `MISSED (${r.roundsWithErrors} rounds with errors)`
        : r.median >= t.atLeast
          ? 'met'
          : 'MISSED'
    const what = `${t.size} ${t.figure} vs ${t.baseline}`
    text += `  ${t.setup.padEnd(22)} ${what.padEnd(32)} ${range(r)} (target >= ${t.atLeast}) ${verdict}\n`
  }
  for (const g of ['gateway-cache-on', 'gateway-cache-off']) {
    const cell = cells.find((c) => c.setup === g && c.size === '256 MiB')
    if (cell === undefined) continue
    const rise = cell.rssRiseMiB
    const verdict = rise !== undefined && rise <= RSS_RISE_MIB ? 'met' : 'MISSED'
    text += `  ${g.padEnd(22)} ${'256 MiB RSS rise during the run'.padEnd(32)} ${rise?.toFixed(1) ?? '-'} MiB (target <= ${RSS_RISE_MIB}) ${verdict}\n`
  }

  // Every decision path's cost at 1 KiB, where the decision is what is measured: its rate and its
  // Node CPU per download, both against the bare handler in the same rounds.
  const paths = [...(roundsBySize.get('1 KiB')?.keys() ?? [])].filter((name) => name.startsWith('gateway'))
  if (paths.length > 0 && rounds(BARE, '1 KiB').length > 0) {
    text += `\nDecision paths at 1 KiB vs the bare handler: req/s, Node CPU per download (below ${EXPLAIN_BELOW}x req/s: the docs say why)\n`
    for (const name of paths) {
      const r = paired(name, BARE, '1 KiB', (c) => c.rps)
      const cpu = paired(name, BARE, '1 KiB', (c) => c.nodeUs ?? Number.NaN)
      const errors = r.roundsWithErrors > 0 ? ` (${r.roundsWithErrors} rounds with errors)` : ''
      const low = r.median < EXPLAIN_BELOW ? `  below ${EXPLAIN_BELOW}x` : ''
      text += `  ${name.padEnd(22)} req/s ${range(r)}  node CPU ${range(cpu)}${errors}${low}\n`
    }
  }
  // Not targets: where Node streaming the file itself stands, and the floor at 1 MiB.
  text += '\nFor reference\n'
  if (rounds('node streaming', '1 KiB').length > 0 && rounds('gateway-cache-on', '1 KiB').length > 0)
    text += `  gateway-cache-on 1 KiB req/s vs node streaming ${range(paired('gateway-cache-on', 'node streaming', '1 KiB', (c) => c.rps))}\n`
  if (rounds(BARE, '1 MiB').length > 0 && rounds(STATIC, '1 MiB').length > 0)
    text += `  bare handler 1 MiB req/s vs nginx static ${range(paired(BARE, STATIC, '1 MiB', (c) => c.rps))} (the floor every gateway target at 1 MiB stands on)\n`
  return text
}
