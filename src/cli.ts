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
  describeDecision,
  formatProblem,
  loadRuleSet,
  type Subject,
} from './acl/index.js'
import { DEFAULT_CONFIG_FILE, loadConfig } from './config/load-config.js'
import { ConfigError } from './config/problems.js'
import { renderNginxCommand } from './deploy/render-nginx-command.js'
import { hashPassword } from './login/password-hash.js'

export interface Io {
  out(line: string): void
  err(line: string): void
}

/** Where the rules come from: --acl paths, or the gateway config that names them. */
export type RuleSource =
  | { readonly kind: 'acl'; readonly paths: readonly string[]; readonly defaultEffect: 'allow' | 'deny' }
  | { readonly kind: 'config'; readonly file: string }

export type CliCommand =
  | {
      readonly name: 'explain'
      readonly source: RuleSource
      readonly subject: Subject
      readonly path: string
    }
  | { readonly name: 'check'; readonly source: RuleSource }
  | { readonly name: 'hash-password' }
  | { readonly name: 'help' }

export type ParsedCli = { ok: true; command: CliCommand } | { ok: false; message: string }

export const EXIT_ALLOW = 0
export const EXIT_DENY = 1
export const EXIT_USAGE = 2

export const USAGE = `usage:
  download-gateway explain [--config <gateway.yaml> | --acl <file|dir|glob> ...] [--user <id>]
                           [--group <name>]... [--default deny|allow] <path>
      prints the decision for <path>; exit 0 allow, 1 deny, 2 usage or load error
  download-gateway check [--config <gateway.yaml> | --acl <file|dir|glob> ...]
      loads the rules and prints every problem; exit 1 on errors
  download-gateway hash-password
      reads a password from standard input and prints its scrypt hash for the users file
Without --acl, the rules and the default come from --config, else from $GATEWAY_CONFIG, else from
config/gateway.yaml.`

const SHARED_OPTIONS = {
  acl: { type: 'string', multiple: true },
  config: { type: 'string' },
  default: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options']

const EXPLAIN_OPTIONS = {
  ...SHARED_OPTIONS,
  user: { type: 'string' },
  group: { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options']

type Values = {
  acl?: string[]
  config?: string
  default?: string
  user?: string
  group?: string[]
  help?: boolean
}

/** argv without `node` and the script; `env` supplies GATEWAY_CONFIG. Pure. */
export function parseCliArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ParsedCli {
  const [name, ...rest] = argv
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    return { ok: true, command: { name: 'help' } }
  }
  if (name === 'hash-password') {
    return rest.length === 0
      ? { ok: true, command: { name } }
      : { ok: false, message: 'hash-password takes no arguments; it reads the password from standard input' }
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
  const effect = values.default ?? 'deny'
  if (effect !== 'deny' && effect !== 'allow')
    return { ok: false, message: `--default must be deny or allow` }
  const source = ruleSourceFrom(values, effect, env)
  if (!source.ok) return source
  if (name === 'check') {
    if (positionals.length > 0) return { ok: false, message: `check takes no path (got '${positionals[0]}')` }
    return { ok: true, command: { name, source: source.source } }
  }
  if (positionals.length !== 1) return { ok: false, message: 'explain needs exactly one <path>' }
  const path = canonicalCliPath(positionals[0] as string)
  if (!path.ok) return { ok: false, message: path.message }
  const subject: Subject = { user: values.user ?? null, groups: values.group ?? [] }
  return { ok: true, command: { name, source: source.source, subject, path: path.path } }
}

function ruleSourceFrom(
  values: Values,
  defaultEffect: 'allow' | 'deny',
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; source: RuleSource } | { ok: false; message: string } {
  const acl = values.acl ?? []
  if (acl.length > 0 && values.config !== undefined)
    return { ok: false, message: 'give --acl or --config, not both' }
  if (acl.length > 0) return { ok: true, source: { kind: 'acl', paths: acl, defaultEffect } }
  if (values.default !== undefined)
    return { ok: false, message: '--default goes with --acl; a config file sets its own' }
  return {
    ok: true,
    source: { kind: 'config', file: values.config ?? env.GATEWAY_CONFIG ?? DEFAULT_CONFIG_FILE },
  }
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

/** The ACL paths and options a rule source stands for; a config file is fully checked first. */
function resolveSource(source: RuleSource): { paths: readonly string[]; options: AclOptions } {
  if (source.kind === 'acl')
    return { paths: source.paths, options: { defaultEffect: source.defaultEffect, defaults: DEFAULT_POLICY } }
  // Secrets are irrelevant to rules; a placeholder keeps a Redis config from failing on them.
  const config = loadConfig({ GATEWAY_CONFIG: source.file, GATEWAY_SESSION_SECRETS: 'x'.repeat(32) })
  return {
    paths: config.acl.paths,
    options: { defaultEffect: config.acl.defaultEffect, defaults: config.acl.defaults },
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

function printProblems(io: Io, problems: readonly AclProblem[]): void {
  for (const p of problems) io.err(formatProblem(p))
}

export async function main(
  argv: readonly string[],
  io: Io,
  env: Readonly<Record<string, string | undefined>> = {},
  readInput: () => Promise<string> = readStdin,
): Promise<number> {
  if (argv[0] === 'render-nginx') return renderNginxCommand(argv.slice(1), io)
  const parsed = parseCliArgs(argv, env)
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
    case 'hash-password': {
      // One line: the password, without its line ending.
      const password = (await readInput()).replace(/\r?\n$/, '')
      if (password.length < 8) {
        io.err('error: the password must be at least 8 characters long')
        return EXIT_USAGE
      }
      io.out(await hashPassword(password))
      return EXIT_ALLOW
    }
    case 'check': {
      const source = resolveSourceOrReport(command.source, io)
      if (!source) return EXIT_USAGE
      const result = await loadRuleSet(source.paths, source.options)
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
      const source = resolveSourceOrReport(command.source, io)
      if (!source) return EXIT_USAGE
      const result = await loadRuleSet(source.paths, source.options)
      if (!result.ok) {
        printProblems(io, result.errors)
        return EXIT_USAGE
      }
      const decision = result.ruleSet.decide(command.path, command.subject)
      io.out(describeDecision(command.path, command.subject, decision).trimEnd())
      return decision.allow ? EXIT_ALLOW : EXIT_DENY
    }
  }
}

function resolveSourceOrReport(source: RuleSource, io: Io): ReturnType<typeof resolveSource> | null {
  try {
    return resolveSource(source)
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message)
      return null
    }
    throw err
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
  process.exitCode = await main(process.argv.slice(2), io, process.env)
}
