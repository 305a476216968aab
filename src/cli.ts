#!/usr/bin/env node
// Operator command line: picks the command and hands it its arguments. Each command lives in
// src/cli/ as a pure parse step and a run step; exit statuses are in src/cli/exit-codes.ts and
// docs/cli.md.
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { CHECK_USAGE, type CheckCommand, parseCheckArgs, runCheck } from './cli/check.js'
import { runCredentialCommand } from './cli/credentials.js'
import { EXIT_INVALID, EXIT_OK } from './cli/exit-codes.js'
import { EXPLAIN_USAGE, type ExplainCommand, parseExplainArgs, runExplain } from './cli/explain.js'
import { HASH_PASSWORD_USAGE, parseHashPasswordArgs, runHashPassword } from './cli/hash-password.js'
import type { Env, Io, Parsed } from './cli/io.js'
import { runThrottleCommand } from './cli/throttle.js'
import { renderNginxCommand } from './deploy/render-nginx-command.js'
import { auditCommand } from './ops/audit-command.js'

export { EXIT_INVALID, EXIT_OK, EXIT_REFUSED, EXIT_STORE_UNREACHABLE } from './cli/exit-codes.js'
export type { Io } from './cli/io.js'

export type CliCommand =
  | ExplainCommand
  | CheckCommand
  | { readonly name: 'hash-password' }
  | { readonly name: 'help' }

export type ParsedCli = Parsed<CliCommand>

export const USAGE = `usage:
${EXPLAIN_USAGE}
${CHECK_USAGE}
${HASH_PASSWORD_USAGE}
  download-gateway render-nginx --server-name <names> [--config <gateway.yaml>] ...
      prints the nginx download server for a host install; render-nginx --help for the rest
  download-gateway link create|revoke ...   download-gateway token create|revoke ...
      share links and access tokens; \`download-gateway link\` alone prints their usage
  download-gateway throttle unlock --account <name> | --address <ip> ...
      lifts a rate limit before its window ends; \`download-gateway throttle\` alone prints its usage
  download-gateway audit --decisions <gateway log> --nginx <nginx audit log>
      one record per download, the decision joined to nginx's side; audit --help for the rest
Without --acl, the rules and the rest come from --config, else from $GATEWAY_CONFIG, else from
config/gateway.yaml.`

/** argv without `node` and the script; `env` supplies GATEWAY_CONFIG. Pure. */
export function parseCliArgs(argv: readonly string[], env: Env = {}): ParsedCli {
  const [name, ...rest] = argv
  switch (name) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      return { ok: true, command: { name: 'help' } }
    case 'explain':
      return parseExplainArgs(rest, env)
    case 'check':
      return parseCheckArgs(rest, env)
    case 'hash-password':
      return parseHashPasswordArgs(rest)
    default:
      return { ok: false, message: `unknown command '${name}'` }
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function main(
  argv: readonly string[],
  io: Io,
  env: Env = {},
  readInput: () => Promise<string> = readStdin,
): Promise<number> {
  if (argv[0] === 'render-nginx') return renderNginxCommand(argv.slice(1), io)
  if (argv[0] === 'link' || argv[0] === 'token') return runCredentialCommand(argv, io, env)
  if (argv[0] === 'throttle') return runThrottleCommand(argv, io, env)
  if (argv[0] === 'audit') return auditCommand(argv.slice(1), io)
  const parsed = parseCliArgs(argv, env)
  if (!parsed.ok) {
    io.err(`error: ${parsed.message}`)
    io.err(USAGE)
    return EXIT_INVALID
  }
  const command = parsed.command
  switch (command.name) {
    case 'help':
      io.out(USAGE)
      return EXIT_OK
    case 'hash-password':
      return runHashPassword(io, readInput)
    case 'check':
      return runCheck(command, io, env)
    case 'explain':
      return runExplain(command, io)
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
