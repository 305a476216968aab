// What /readyz checks: rules loaded, the session source answering, and (when configured) the
// canary download. Liveness checks nothing of these on purpose: a Redis blip must make gateways
// unready (taken out of rotation), never restart them all.
import type { CanaryResult } from './canary.js'

export interface ReadinessChecks {
  /** Rules in the live set; 0 means none were ever loaded (the fail-closed empty set). */
  readonly ruleCount: () => number
  /** The session source's ping(): rejects when it cannot answer. */
  readonly pingSource: () => Promise<void>
  readonly canary?: { check(): Promise<CanaryResult> }
}

export interface Readiness {
  readonly ready: boolean
  readonly rules: number
  /** Each check by name: `ok`, `off`, or `failed`. What the probe's body says. */
  readonly checks: Readonly<Record<'rules' | 'session' | 'canary', 'ok' | 'off' | 'failed'>>
  /** Names of the failed checks, in order. */
  readonly failed: readonly string[]
  /** Why each failed, for the decision line (never in the public body: it may name hosts). */
  readonly detail: string
}

export async function checkReadiness(c: ReadinessChecks): Promise<Readiness> {
  const rules = c.ruleCount()
  const [session, canary] = await Promise.all([
    c.pingSource().then(
      () => undefined,
      (err: unknown) => (err as Error)?.message ?? String(err),
    ),
    c.canary?.check(),
  ])
  const why: string[] = []
  if (rules === 0) why.push('rules: none loaded')
  if (session !== undefined) why.push(`session: ${session}`)
  if (canary && !canary.ok) why.push(`canary: ${canary.why}`)
  const checks = {
    rules: rules === 0 ? 'failed' : 'ok',
    session: session === undefined ? 'ok' : 'failed',
    canary: canary === undefined ? 'off' : canary.ok ? 'ok' : 'failed',
  } as const
  const failed = Object.entries(checks)
    .filter(([, v]) => v === 'failed')
    .map(([k]) => k)
  return { ready: failed.length === 0, rules, checks, failed, detail: why.join('; ') }
}
