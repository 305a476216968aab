// The Grafana dashboard under deploy/grafana/ is valid JSON, shows every metric of our own, and
// names no metric that does not exist (a renamed metric would leave a silently empty panel).
import { readFileSync } from 'node:fs'
import t from 'tap'
import { GatewayMetrics } from '../../src/ops/metrics.js'

const dashboard = JSON.parse(readFileSync('deploy/grafana/download-gateway.json', 'utf8')) as {
  panels: { title: string; targets: { expr: string }[] }[]
}

const ours = (await new GatewayMetrics({ ruleCount: () => 0 }).registry.getMetricsAsJSON())
  .map((m) => m.name)
  .filter((n) => n.startsWith('gateway_'))

const exprs = dashboard.panels.flatMap((p) => p.targets.map((target) => target.expr)).join('\n')
const named = new Set(
  [...exprs.matchAll(/\b(gateway_[a-z_]+?)(?:_bucket|_count|_sum)?\b(?=[{[)\s]|$)/g)].map((m) => m[1]),
)

t.ok(ours.length >= 7, `metrics found (${ours.length})`)
for (const name of ours) t.ok(exprs.includes(name), `${name} has a panel`)
for (const name of named) t.ok(ours.includes(name as string), `${name} exists`)
t.ok(
  dashboard.panels.every((p) => p.title.length > 0 && p.targets.length > 0),
  'every panel has a title and a query',
)
