#!/usr/bin/env node
// Operator command line. Each subcommand is one entry in COMMANDS: its options, a pure parse
// step and a run step, so a new source of ACL paths (e.g. `--config gateway.yaml`) is added in
// `aclPathsFrom` and every command picks it up.
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import {
  type AclOptions,
  type AclProblem,
  DEFAULT_POLICY,
  explain,
  formatProblem,
  loadRuleSet,
  type Subject,
} from './acl/index.js'

export interface Io {
  out(line: string): void
  err(line: string): void
}

export type CliCommand =
  | {
      readonly name: 'explain'
      readonly acl: readonly string[]
      readonly defaultEffect: 'allow' | 'deny'
      readonly subject: Subject
      readonly path: string
    }
  | { readonly name: 'check'; readonly acl: readonly string[]; readonly defaultEffect: 'allow' | 'deny' }
  | { readonly name: 'help' }

export type ParsedCli = { ok: true; command: CliCommand } | { ok: false; message: string }

export const EXIT_ALLOW = 0
export const EXIT_DENY = 1
export const EXIT_USAGE = 2

export const USAGE = `usage:
  download-gateway explain --acl <file|dir|glob> [--acl ...] [--user <id>] [--group <name>]...
                           [--default deny|allow] <path>
      prints the decision for <path>; exit 0 allow, 1 deny, 2 usage or load error
  download-gateway check --acl <file|dir|glob> [--acl ...]
      loads the rules and prints every problem; exit 1 on errors`

const SHARED_OPTIONS = {
  acl: { type: 'string', multiple: true },
  default: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const EXPLAIN_OPTIONS = {
  ...SHARED_OPTIONS,
  user: { type: 'string' },
  group: { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options']

type Values = { acl?: string[]; default?: string; user?: string; group?: string[]; help?: boolean }

/** argv without `node` and the script. Pure. */
export function parseCliArgs(argv: readonly string[]): ParsedCli {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    return { ok: true, command: { name: 'help' } }
  }
  if (name !== 'explain' && name !== 'check') return { ok: false, message: `unknown command '${name}'` }
  let values: Values
  let positionals: string[]
  try {
    const parsed = parseArgs({
      args: [...rest],
      options: name === 'explain' ? EXPLAIN_OPTIONS : SHARED_OPTIONS,
      allowPositionals: true,
      strict: true,
    })
    values = parsed.values as Values
    positionals = parsed.positionals
  } catch (err) {
    return { ok: false, message: (err as Error).message }
  }
  if (values.help) return { ok: true, command: { name: 'help' } }
  const acl = aclPathsFrom(values)
  if (acl.length === 0) return { ok: false, message: 'at least one --acl <file|dir|glob> is needed' }
  const effect = values.default ?? 'deny'
  if (effect !== 'deny' && effect !== 'allow')
    return { ok: false, message: `--default must be deny or allow` }
  if (name === 'check') {
    if (positionals.length > 0) return { ok: false, message: `check takes no path (got '${positionals[0]}')` }
    return { ok: true, command: { name, acl, defaultEffect: effect } }
  }
  if (positionals.length !== 1) return { ok: false, message: 'explain needs exactly one <path>' }
  const path = canonicalCliPath(positionals[0] as string)
  if (!path.ok) return { ok: false, message: path.message }
  const subject: Subject = { user: values.user ?? null, groups: values.group ?? [] }
  return { ok: true, command: { name, acl, defaultEffect: effect, subject, path: path.path } }
}

function aclPathsFrom(values: Values): string[] {
  return values.acl ?? []
}

/**
 * The minimal canonical form `decide` expects: leading `/`, no empty or `.` segments, NFC.
 * `..` is refused rather than resolved: the gateway refuses it too.
 */
export function canonicalCliPath(raw: string): { ok: true; path: string } | { ok: false; message: string } {
  if (!raw.startsWith('/')) return { ok: false, message: `path must start with '/': '${raw}'` }
  const segs = raw
    .normalize('NFC')
    .split('/')
    .filter((s) => s !== '' && s !== '.')
  if (segs.includes('..')) return { ok: false, message: `path must not contain '..': '${raw}'` }
  return { ok: true, path: `/${segs.join('/')}` }
}

function options(defaultEffect: 'allow' | 'deny'): AclOptions {
  return { defaultEffect, defaults: DEFAULT_POLICY }
}

function printProblems(io: Io, problems: readonly AclProblem[]): void {
  for (const p of problems) io.err(formatProblem(p))
}

export async function main(argv: readonly string[], io: Io): Promise<number> {
  const parsed = parseCliArgs(argv)
  if (!parsed.ok) {
    io.err(`error: ${parsed.message}`)
    io.err(USAGE)
    return EXIT_USAGE
  }
  const command = parsed.command
  switch (command.name) {
    case 'help':
      io.out(USAGE)
      return EXIT_ALLOW
    case 'check': {
      const result = await loadRuleSet(command.acl, options(command.defaultEffect))
      printProblems(io, result.warnings)
      if (!result.ok) {
        printProblems(io, result.errors)
        return EXIT_DENY
      }
      io.out(
        `ok: ${result.ruleSet.ruleCount} rules from ${result.ruleSet.files.length} files, ${result.warnings.length} warnings`,
      )
      return EXIT_ALLOW
    }
    case 'explain': {
      const result = await loadRuleSet(command.acl, options(command.defaultEffect))
      if (!result.ok) {
        printProblems(io, result.errors)
        return EXIT_USAGE
      }
      io.out(explain(result.ruleSet, command.path, command.subject).trimEnd())
      return result.ruleSet.decide(command.path, command.subject).allow ? EXIT_ALLOW : EXIT_DENY
    }
  }
}

function isMainModule(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href
  } catch {
    return false
  }
}

if (isMainModule()) {
  const io: Io = { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) }
  process.exitCode = await main(process.argv.slice(2), io)
}
