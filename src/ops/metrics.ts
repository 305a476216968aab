// The gateway's Prometheus metrics, with prom-client (the ecosystem's library: its registry, text
// format and the default process metrics every dashboard expects).
//
// Label values are bounded by construction: reason codes (a fixed list in errors.ts), rule ids
// (what the operator wrote), store operations and reload targets. Never a path, a user id, a
// session or a request id: those would make a series per visitor.
//
// The download path pays one call per decision: two map lookups and an integer increment on our
// own table, copied into the counter when Prometheus scrapes (prom-client's own inc() with labels
// hashes the label object on every call).
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

export type ReloadTarget = 'rules' | 'users' | 'secrets'

export interface MetricSources {
  /** Rules in the live set. */
  readonly ruleCount: () => number
  /** The session cache's running totals, when the store has one. */
  readonly sessionCache?: () => { readonly hits: number; readonly invalidations: number } | undefined
}

/** Rule labels are `id@file:line` (decision/download-decision.ts); a metric carries the id only. */
const RULE_IDS_MAX = 10_000

export class GatewayMetrics {
  readonly registry = new Registry()
  /** code -> rule id -> decisions. */
  readonly #decisions = new Map<string, Map<string, { n: number }>>()
  readonly #ruleIds = new Map<string, string>()
  readonly #storeSeconds: Histogram<'op'>
  readonly #storeErrors: Counter<'op'>
  readonly #credentialDecisions: Counter<'credential' | 'code'>
  readonly #reloads: Counter<'target' | 'result'>

  constructor(sources: MetricSources) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    const decisions = this.#decisions
    new Counter({
      name: 'gateway_decisions_total',
      help: 'Decisions by reason code and deciding rule id (empty: no rule decided)',
      labelNames: ['code', 'rule'],
      registers,
      collect() {
        this.reset()
        for (const [code, byRule] of decisions) {
          for (const [rule, count] of byRule) this.inc({ code, rule }, count.n)
        }
      },
    })
    this.#credentialDecisions = new Counter({
      name: 'gateway_credential_decisions_total',
      help: 'Decisions made by a share link or an access token instead of a session, by reason code',
      labelNames: ['credential', 'code'],
      registers,
    })
    this.#storeSeconds = new Histogram({
      name: 'gateway_session_store_duration_seconds',
      help: 'Time of session store operations that went to the store (cached answers excluded)',
      labelNames: ['op'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    })
    this.#storeErrors = new Counter({
      name: 'gateway_session_store_errors_total',
      help: 'Session store operations that failed (timeouts, lost connections)',
      labelNames: ['op'],
      registers,
    })
    const cache = sources.sessionCache
    new Counter({
      name: 'gateway_session_cache_hits_total',
      help: 'Sessions answered from the client cache (session.redis.client_cache)',
      registers,
      collect() {
        const c = cache?.()
        if (c) {
          this.reset()
          this.inc(c.hits)
        }
      },
    })
    new Counter({
      name: 'gateway_session_cache_invalidations_total',
      help: 'Cached sessions dropped: invalidated by Redis, written by us, or a connection event',
      registers,
      collect() {
        const c = cache?.()
        if (c) {
          this.reset()
          this.inc(c.invalidations)
        }
      },
    })
    this.#reloads = new Counter({
      name: 'gateway_reloads_total',
      help: 'Reloads of rules, users file and session secrets; refused: kept the last good one',
      labelNames: ['target', 'result'],
      registers,
    })
    new Gauge({
      name: 'gateway_acl_rules',
      help: 'Rules in the live rule set',
      registers,
      collect() {
        this.set(sources.ruleCount())
      },
    })
  }

  /** One decision; `ruleLabel` as the decision line has it. Called once per request: keep it cheap. */
  readonly countDecision = (
    code: string,
    ruleLabel: string | null | undefined,
    credential?: 'link' | 'token',
  ): void => {
    if (credential !== undefined) this.#credentialDecisions.inc({ credential, code })
    let byRule = this.#decisions.get(code)
    if (byRule === undefined) {
      byRule = new Map()
      this.#decisions.set(code, byRule)
    }
    const rule = ruleLabel ? this.#ruleId(ruleLabel) : ''
    const count = byRule.get(rule)
    if (count === undefined) byRule.set(rule, { n: 1 })
    else count.n++
  }

  #ruleId(label: string): string {
    // A share link decides by itself (`link:<id>`): one label for all of them, since link ids are
    // as many as the links issued.
    if (label.startsWith('link:')) return 'link'
    let id = this.#ruleIds.get(label)
    if (id === undefined) {
      const at = label.indexOf('@')
      id = at < 0 ? label : label.slice(0, at)
      if (this.#ruleIds.size < RULE_IDS_MAX) this.#ruleIds.set(label, id)
    }
    return id
  }

  observeStore(op: 'get' | 'ping', seconds: number, failed: boolean): void {
    this.#storeSeconds.observe({ op }, seconds)
    if (failed) this.#storeErrors.inc({ op })
  }

  countReload(target: ReloadTarget, ok: boolean): void {
    this.#reloads.inc({ target, result: ok ? 'ok' : 'refused' })
  }

  /** The text Prometheus scrapes, and its content type. */
  async scrape(): Promise<{ readonly contentType: string; readonly text: string }> {
    return { contentType: this.registry.contentType, text: await this.registry.metrics() }
  }
}
