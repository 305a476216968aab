// Bounded concurrency for tests that send thousands of requests: enough in flight to keep nginx
// and the gateway busy on a 2-core machine, few enough that nothing queues into a timeout.

/**
 * Calls `fn` for every item with at most `concurrency` calls in flight. Resolves once every call
 * has settled and rejects with the first error. With `deadline` (a Date.now() value), items not
 * yet started when it passes are skipped; the result says how many ran.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
  deadline = Number.POSITIVE_INFINITY,
): Promise<{ ran: number; skipped: number }> {
  let next = 0
  let ran = 0
  let failure: unknown
  const worker = async () => {
    while (failure === undefined && next < items.length && Date.now() < deadline) {
      const index = next++
      try {
        await fn(items[index] as T, index)
        ran++
      } catch (err) {
        failure ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker))
  if (failure !== undefined) throw failure
  return { ran, skipped: items.length - ran }
}

/** Counts by key, printed sorted: `{ "400": 21000, "404": 1200 }`. */
export class Histogram {
  readonly counts = new Map<string, number>()

  add(key: string | number): void {
    const k = String(key)
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1)
  }

  get total(): number {
    let n = 0
    for (const v of this.counts.values()) n += v
    return n
  }

  toString(): string {
    return [...this.counts.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')
  }
}
