// ACL engine benchmark: start-up (read + parse + compile + lint) and per-decision latency for
// rule sets of 10, 1,000 and 100,000 rules, measured in one run and printed with the ratios
// the targets are stated in. Run: npm run bench:acl
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DEFAULT_POLICY, loadRuleSet, type RuleSet, type Subject } from '../src/acl/index.js'

const SIZES = [10, 1_000, 100_000]
const RULES_PER_FILE = 1_000
const WARMUP = 50_000
const SAMPLES = 100_000
// Per rule count, the median of ROUNDS interleaved rounds of SAMPLES decisions each.
const ROUNDS = 5

interface Probe {
  readonly path: string
  readonly subject: Subject
}

/**
 * Blocks of ten rules, like a real deployment: a deny carved out of a customer folder, six
 * per-customer folders, a *.pdf glob, a {group} placeholder and a brace/globstar archive rule.
 */
function ruleYaml(count: number): string[] {
  const rules: string[] = []
  const body = count - 1 // the catch-all comes last
  for (let i = 0; rules.length < body; i++) {
    const b = Math.floor(i / 10)
    const c = b * 6 + ((i % 10) - 1)
    switch (i % 10) {
      case 0:
        rules.push(rule(`secret-${b}`, `/customers/c${b * 6}/secret/**`, 'deny: anyone\n    refusal: 404'))
        break
      case 7:
        rules.push(
          rule(`reports-${b}`, `/reports/r${b}/*.pdf`, 'allow: authenticated\n    disposition: inline'),
        )
        break
      case 8:
        rules.push(rule(`projects-${b}`, `/projects/p${b}/{group}/**`, 'allow: authenticated'))
        break
      case 9:
        rules.push(
          rule(
            `archive-${b}`,
            `"/archive/a${b}/**/*.{pdf,csv}"`,
            'allow: group:auditors\n    limit_rate: 512k',
          ),
        )
        break
      default:
        rules.push(rule(`customer-${c}`, `/customers/c${c}/**`, `allow: group:c${c}`))
    }
  }
  rules.push(rule('catch-all', '/**', 'deny: anyone'))
  return rules
}

function rule(id: string, path: string, rest: string): string {
  return `  - id: ${id}   # generated\n    path: ${path}\n    ${rest}\n`
}

function probes(count: number): Probe[] {
  const blocks = Math.max(1, Math.floor((count - 1) / 10))
  const customers = Math.max(1, Math.min(count - 1, blocks * 6))
  const out: Probe[] = []
  let seed = 42
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  for (let i = 0; i < 1_000; i++) {
    const c = rnd(customers)
    const b = rnd(blocks)
    const user = `u${rnd(1000)}`
    switch (i % 8) {
      case 0: // allowed by a customer rule
        out.push({ path: `/customers/c${c}/docs/2025/file${i}.pdf`, subject: { user, groups: [`c${c}`] } })
        break
      case 1: // wrong customer: falls through to the catch-all
        out.push({ path: `/customers/c${c}/docs/file${i}.pdf`, subject: { user, groups: [`c${c + 1}`] } })
        break
      case 2: // denied by a secret rule
        out.push({
          path: `/customers/c${b * 6}/secret/key${i}.txt`,
          subject: { user, groups: [`c${b * 6}`] },
        })
        break
      case 3: // a *.pdf glob
        out.push({ path: `/reports/r${b}/q${i % 4}.pdf`, subject: { user, groups: [] } })
        break
      case 4: // {group} placeholder
        out.push({
          path: `/projects/p${b}/team${i % 5}/plan.txt`,
          subject: { user, groups: [`team${i % 5}`] },
        })
        break
      case 5: // brace + globstar
        out.push({ path: `/archive/a${b}/2024/06/ledger.csv`, subject: { user, groups: ['auditors'] } })
        break
      case 6: // unknown top folder, anonymous
        out.push({ path: `/nowhere/x${i}/y.txt`, subject: { user: null, groups: [] } })
        break
      default: // deep path under an unknown customer
        out.push({ path: `/customers/zz${i}/a/b/c/d.bin`, subject: { user, groups: [] } })
    }
  }
  return out
}

async function writeRules(dir: string, count: number): Promise<void> {
  await mkdir(dir, { recursive: true })
  const rules = ruleYaml(count)
  for (let f = 0; f * RULES_PER_FILE < rules.length; f++) {
    const chunk = rules.slice(f * RULES_PER_FILE, (f + 1) * RULES_PER_FILE).join('')
    const name = `${String(f).padStart(4, '0')}-rules.yaml`
    await writeFile(join(dir, name), `# generated rules, part ${f}\nrules:\n${chunk}`)
  }
}

interface Row {
  readonly rules: number
  readonly buildMs: number
  readonly warnings: number
  readonly medianNs: number
  readonly p99Ns: number
  readonly maxNs: number
  readonly allowShare: number
}

function timeDecisions(
  set: RuleSet,
  list: Probe[],
): { median: number; p99: number; max: number; allow: number } {
  let allow = 0
  for (let i = 0; i < WARMUP; i++) {
    const p = list[i % list.length] as Probe
    if (set.decide(p.path, p.subject).allow) allow++
  }
  // Individual calls, timer included: each sample over-states a decision by the cost of one
  // hrtime.bigint() call (measured and subtracted below).
  const samples = new Float64Array(SAMPLES)
  allow = 0
  for (let i = 0; i < SAMPLES; i++) {
    const p = list[i % list.length] as Probe
    const t0 = process.hrtime.bigint()
    const d = set.decide(p.path, p.subject)
    const t1 = process.hrtime.bigint()
    if (d.allow) allow++
    samples[i] = Number(t1 - t0)
  }
  const empty = new Float64Array(50_000)
  for (let i = 0; i < empty.length; i++) {
    const t0 = process.hrtime.bigint()
    const t1 = process.hrtime.bigint()
    empty[i] = Number(t1 - t0)
  }
  empty.sort()
  const overhead = empty[empty.length >> 1] as number
  samples.sort()
  const at = (q: number): number =>
    Math.max(0, (samples[Math.floor(q * (samples.length - 1))] as number) - overhead)
  return { median: at(0.5), p99: at(0.99), max: at(1), allow: allow / SAMPLES }
}

function medianOf(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

async function main(): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'acl-bench-'))
  const options = { defaultEffect: 'deny', defaults: DEFAULT_POLICY } as const
  const rows: Row[] = []
  try {
    // Build every set first, then time them in interleaved rounds: the machine's speed drifts, and
    // every measurement should see the same heap (all sets loaded), so ratios compare like with like.
    const built: { count: number; set: RuleSet; buildMs: number; warnings: number; probes: Probe[] }[] = []
    for (const count of SIZES) {
      const dir = join(root, `r${count}`)
      await writeRules(dir, count)
      const t0 = process.hrtime.bigint()
      const result = await loadRuleSet([dir], options)
      const buildMs = Number(process.hrtime.bigint() - t0) / 1e6
      if (!result.ok)
        throw new Error(`bench rules did not load: ${JSON.stringify(result.errors.slice(0, 3))}`)
      built.push({
        count,
        set: result.ruleSet,
        buildMs,
        warnings: result.warnings.length,
        probes: probes(count),
      })
    }
    const rounds = built.map(() => [] as ReturnType<typeof timeDecisions>[])
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, b] of built.entries()) rounds[i]?.push(timeDecisions(b.set, b.probes))
    }
    for (const [i, b] of built.entries()) {
      const mid = <K extends 'median' | 'p99' | 'max' | 'allow'>(k: K) =>
        medianOf((rounds[i] ?? []).map((r) => r[k]))
      rows.push({
        rules: b.set.ruleCount,
        buildMs: b.buildMs,
        warnings: b.warnings,
        medianNs: mid('median'),
        p99Ns: mid('p99'),
        maxNs: Math.max(...(rounds[i] ?? []).map((r) => r.max)),
        allowShare: mid('allow'),
      })
    }
  } finally {
    await rm(root, { recursive: true, force: true })
  }
  const pad = (s: string | number, n: number): string => String(s).padStart(n)
  console.log(
    `${pad('rules', 8)} ${pad('start-up ms', 12)} ${pad('warnings', 9)} ${pad('median ns', 10)} ${pad('p99 ns', 8)} ${pad('max ns', 9)} ${pad('allowed', 8)}`,
  )
  for (const r of rows) {
    console.log(
      `${pad(r.rules, 8)} ${pad(r.buildMs.toFixed(1), 12)} ${pad(r.warnings, 9)} ${pad(r.medianNs.toFixed(0), 10)} ${pad(r.p99Ns.toFixed(0), 8)} ${pad(r.maxNs.toFixed(0), 9)} ${pad(`${(r.allowShare * 100).toFixed(0)}%`, 8)}`,
    )
  }
  const small = rows[0] as Row
  const big = rows[rows.length - 1] as Row
  const ratio = big.medianNs / Math.max(1, small.medianNs)
  const p99us = big.p99Ns / 1000
  const startS = big.buildMs / 1000
  console.log('')
  console.log(
    `median@${big.rules} / median@${small.rules} = ${ratio.toFixed(2)}x   (target <= 3x)   ${ratio <= 3 ? 'ok' : 'MISSED'}`,
  )
  console.log(
    `p99@${big.rules} = ${p99us.toFixed(2)} µs   (target < 20 µs)   ${p99us < 20 ? 'ok' : 'MISSED'}`,
  )
  console.log(
    `start-up@${big.rules} = ${startS.toFixed(2)} s   (target < 2 s)   ${startS < 2 ? 'ok' : 'MISSED'}`,
  )
}

await main()
