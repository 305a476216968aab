// The full benchmark's targets, each a ratio of a gateway to a baseline taken round by round (runs
// seconds apart) and summarised by its median and range, with a verdict.

import { EDGE_SETUP, edgeTargetText } from './edge-setup.js'
import { ratioSummary } from './rounds.js'
import type { Cell } from './run-cell.js'

/** Every round's cell, by size label, then by setup name, in the order the rounds ran. */
export type RoundsBySize = ReadonlyMap<string, ReadonlyMap<string, readonly Cell[]>>

export function targetsText(cells: readonly Cell[], roundsBySize: RoundsBySize): string {
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
  let text = '\nTargets (median of the per-round ratios, and their range)\n'
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
      text += `  ${g.padEnd(18)} ${what.padEnd(32)} ${r.median.toFixed(2)}x [${r.min.toFixed(2)}-${r.max.toFixed(2)}] (target >= ${target}) ${verdict}\n`
    }
    const rise = get(g, '256 MiB').rssRiseMiB
    const verdict = rise !== undefined && rise <= 10 ? 'met' : 'MISSED'
    text += `  ${g.padEnd(18)} ${'256 MiB RSS rise during the run'.padEnd(32)} ${rise?.toFixed(1) ?? '-'} MiB (target <= 10) ${verdict}\n`
  }
  // Session sources other than connect-over-Redis: what each costs at 1 KiB, against the handler
  // with no checks, beside the Redis gateway's own ratio. No target: the cost is the point.
  const sources = [...(roundsBySize.get('1 KiB')?.keys() ?? [])].filter(
    (name) => name.startsWith('gateway-') && name !== 'gateway-cache-off' && name !== 'gateway-cache-on',
  )
  if (sources.length > 0) text += '\nSession sources at 1 KiB, req/s vs bare handler\n'
  for (const name of sources) {
    const r = paired(name, 'bare handler', '1 KiB', rps)
    const errors = r.roundsWithErrors > 0 ? ` (${r.roundsWithErrors} rounds with errors)` : ''
    text += `  ${name.padEnd(18)} ${r.median.toFixed(2)}x [${r.min.toFixed(2)}-${r.max.toFixed(2)}]${errors}\n`
  }
  // Issue 18: a link or token download costs no more than a session download.
  for (const g of ['gateway link', 'gateway token']) {
    // Reports from before these rows existed have no rounds for them.
    if ((roundsBySize.get('1 KiB')?.get(g) ?? []).length === 0) continue
    const r = paired(g, 'bare handler', '1 KiB', rps)
    const vsSession = paired(g, 'gateway-cache-off', '1 KiB', rps)
    const verdict =
      r.roundsWithErrors > 0
        ? `MISSED (${r.roundsWithErrors} rounds with errors)`
        : r.median >= 0.9
          ? 'met'
          : 'MISSED'
    text += `  ${g.padEnd(18)} ${'1 KiB req/s vs bare handler'.padEnd(32)} ${r.median.toFixed(2)}x [${r.min.toFixed(2)}-${r.max.toFixed(2)}] (target >= 0.9) ${verdict}\n`
    text += `  ${g.padEnd(18)} ${'1 KiB req/s vs session (cache off)'.padEnd(32)} ${vsSession.median.toFixed(2)}x [${vsSession.min.toFixed(2)}-${vsSession.max.toFixed(2)}]\n`
  }
  // Reports from before the edge link row existed have no rounds for it.
  if ((roundsBySize.get('1 KiB')?.get(EDGE_SETUP) ?? []).length > 0)
    text += edgeTargetText(paired(EDGE_SETUP, 'nginx static', '1 KiB', rps))
  // No gateway of this design can beat the handler that answers X-Accel-Redirect with no checks at
  // all, so its own ratio, from the same rounds, says whether a 1 MiB miss is the gateway's.
  const floor = paired('bare handler', 'nginx static', '1 MiB', rps)
  return (
    text +
    `\nThe floor: bare handler 1 MiB req/s vs nginx static ${floor.median.toFixed(2)}x [${floor.min.toFixed(2)}-${floor.max.toFixed(2)}]` +
    ' (a gateway can at best match it)\n'
  )
}
