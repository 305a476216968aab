// What one round of one setup at one size measured (a Cell), and how a setup's rounds become the
// one cell the table shows.
import type { WrkResult } from './wrk.js'

export interface Cell {
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

/** The round with the median req/s; its peak RSS is the highest seen in any round. */
export function medianCell(rounds: readonly Cell[]): Cell {
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps)
  const median = sorted[Math.floor(sorted.length / 2)] as Cell
  // Memory is reported at its worst round, not its median one.
  const worst = (f: (c: Cell) => number | undefined) => {
    const values = rounds.map(f).filter((v): v is number => v !== undefined)
    return values.length > 0 ? Math.max(...values) : undefined
  }
  return { ...median, peakRssMiB: worst((c) => c.peakRssMiB), rssRiseMiB: worst((c) => c.rssRiseMiB) }
}
