// The readiness canary: one real download of a configured file, through nginx, proving the whole
// path (nginx, the gateway's decision, nginx's internal location, the disk) rather than a part.
// Probes may come from several places at once (orchestrator, load balancer, an operator): they
// share one download in flight and its result for CANARY_REUSE_MS, so a probe storm is one request.

export interface CanaryOptions {
  readonly url: string
  readonly expectStatus: number
  readonly timeoutMs: number
}

export type CanaryResult = { readonly ok: true } | { readonly ok: false; readonly why: string }

export const CANARY_REUSE_MS = 1000

export class Canary {
  readonly #o: CanaryOptions
  #inFlight: Promise<CanaryResult> | undefined
  #last: { readonly at: number; readonly result: CanaryResult } | undefined

  constructor(o: CanaryOptions) {
    this.#o = o
  }

  check(): Promise<CanaryResult> {
    const last = this.#last
    if (last && performance.now() - last.at < CANARY_REUSE_MS) return Promise.resolve(last.result)
    if (this.#inFlight) return this.#inFlight
    const run = this.#download().then((result) => {
      this.#last = { at: performance.now(), result }
      this.#inFlight = undefined
      return result
    })
    this.#inFlight = run
    return run
  }

  async #download(): Promise<CanaryResult> {
    const { url, expectStatus, timeoutMs } = this.#o
    try {
      const res = await fetch(url, {
        signal: AbortSignal.timeout(timeoutMs),
        headers: { 'user-agent': 'download-gateway-canary' },
        redirect: 'manual',
      })
      // The whole body: a download that starts but cannot finish (a file nginx cannot read past
      // its first buffer) is not a working path.
      await res.arrayBuffer()
      if (res.status !== expectStatus)
        return { ok: false, why: `status ${res.status}, expected ${expectStatus}` }
      return { ok: true }
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } }
      return { ok: false, why: e.cause?.code ?? e.name ?? 'fetch failed' }
    }
  }
}
