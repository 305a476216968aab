// A deployment-sized rule set for the HTTP benchmark: `count` rules over several YAML files, the
// kinds a real one mixes (per-customer folders, globs, a {user} placeholder, hidden areas), with
// the benchmark's own folder allowed by a rule in the middle and a catch-all deny at the end.
const RULES_PER_FILE = 250

export function benchAclFiles(count: number, allowedGroup: string): Record<string, string> {
  const rules: string[] = []
  const middle = Math.floor(count / 2)
  for (let i = 0; rules.length < count - 1; i++) {
    if (rules.length === middle) {
      rules.push(
        rule('bench-files', '/bench/**', `allow: group:${allowedGroup}\n    disposition: attachment`),
      )
      continue
    }
    switch (i % 5) {
      case 0:
        rules.push(rule(`hidden-${i}`, `/customers/c${i}/secret/**`, 'deny: anyone\n    refusal: 404'))
        break
      case 1:
        rules.push(
          rule(`reports-${i}`, `/reports/r${i}/*.pdf`, 'allow: authenticated\n    disposition: inline'),
        )
        break
      case 2:
        rules.push(rule(`home-${i}`, `/homes/h${i}/{user}/**`, 'allow: authenticated'))
        break
      default:
        rules.push(rule(`customer-${i}`, `/customers/c${i}/**`, `allow: group:c${i}`))
    }
  }
  rules.push(rule('catch-all', '/**', 'deny: anyone'))
  const files: Record<string, string> = {}
  for (let f = 0; f * RULES_PER_FILE < rules.length; f++) {
    const chunk = rules.slice(f * RULES_PER_FILE, (f + 1) * RULES_PER_FILE)
    files[`${String(10 + f).padStart(2, '0')}-bench.yaml`] = `rules:\n${chunk.join('')}`
  }
  return files
}

function rule(id: string, path: string, rest: string): string {
  return `  - id: ${id}\n    path: "${path}"\n    ${rest}\n`
}
