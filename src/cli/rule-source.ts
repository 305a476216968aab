// Where `check` and `explain` read rules from: --acl paths (rules alone), or the gateway config that
// names them (--config, else $GATEWAY_CONFIG, else config/gateway.yaml), and how their options
// are parsed.
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { type AclProblem, formatProblem } from '../acl/index.js'
import { DEFAULT_CONFIG_FILE } from '../config/load-config.js'
import type { Env, Io, Parsed } from './io.js'

export type RuleSource =
  | { readonly kind: 'acl'; readonly paths: readonly string[]; readonly defaultEffect: 'allow' | 'deny' }
  | { readonly kind: 'config'; readonly file: string }

export const SOURCE_OPTIONS = {
  acl: { type: 'string', multiple: true },
  config: { type: 'string' },
  default: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

export interface SourceValues {
  acl?: string[]
  config?: string
  default?: string
  help?: boolean
}

/** node:util parseArgs, strict, with its errors as values. */
export function parseOptions<V>(
  args: readonly string[],
  options: ParseArgsConfig['options'],
): Parsed<{ values: V; positionals: string[] }> {
  try {
    const parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true })
    return { ok: true, command: { values: parsed.values as V, positionals: parsed.positionals } }
  } catch (err) {
    return { ok: false, message: (err as Error).message }
  }
}

export function ruleSourceFrom(values: SourceValues, env: Env): Parsed<RuleSource> {
  const acl = values.acl ?? []
  const effect = values.default ?? 'deny'
  if (effect !== 'deny' && effect !== 'allow')
    return { ok: false, message: '--default must be deny or allow' }
  if (acl.length > 0 && values.config !== undefined)
    return { ok: false, message: 'give --acl or --config, not both' }
  if (acl.length > 0) return { ok: true, command: { kind: 'acl', paths: acl, defaultEffect: effect } }
  if (values.default !== undefined)
    return { ok: false, message: '--default goes with --acl; a config file sets its own' }
  return {
    ok: true,
    command: { kind: 'config', file: values.config ?? env.GATEWAY_CONFIG ?? DEFAULT_CONFIG_FILE },
  }
}

export function printProblems(io: Io, problems: readonly AclProblem[]): void {
  for (const p of problems) io.err(formatProblem(p))
}
