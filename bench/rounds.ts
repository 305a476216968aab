// How the benchmarks turn rounds into one figure. Setups are measured seconds apart, round by
// round, because this machine's speed drifts; a ratio is taken inside each round, where the drift
// is smallest, and the rounds' ratios are summarised by their median and range.

export interface RatioSummary {
  /** The middle ratio; with an even count, the upper of the two middle ones. */
  readonly median: number
  readonly min: number
  readonly max: number
}

/** The ratios a[i] / b[i] of rounds measured together, summarised. */
export function ratioSummary(a: readonly number[], b: readonly number[]): RatioSummary {
  if (a.length !== b.length || a.length === 0)
    throw new Error(`ratioSummary: ${a.length} rounds against ${b.length}; need the same, at least one`)
  const ratios = a.map((x, i) => x / (b[i] as number)).sort((x, y) => x - y)
  return {
    median: ratios[Math.floor(ratios.length / 2)] as number,
    min: ratios[0] as number,
    max: ratios[ratios.length - 1] as number,
  }
}
