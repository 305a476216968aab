// Why the gateway could not start, as one line an operator can act on, and the exit code:
//   2  the configuration as written cannot work (config file, environment, rules, users file, files
//      root): starting again without changing it fails the same way;
//   1  this machine refused at run time (the port is taken, binding needs privileges, the address
//      is not here), or something unexpected happened.
// A service manager may retry 1; 2 wants a person.
import { readFileSync } from 'node:fs'
import { isAbsolute, relative } from 'node:path'
import type { GatewayConfig } from './config/gateway-config.js'
import { ConfigError, type ConfigProblem, formatProblem } from './config/problems.js'
import { parseYamlSource } from './config/yaml-source.js'

export const EXIT_RUNTIME = 1
export const EXIT_CONFIG = 2

/** A start-up problem already worded for the operator. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly exitCode: typeof EXIT_RUNTIME | typeof EXIT_CONFIG = EXIT_CONFIG,
  ) {
    super(message)
    this.name = 'StartupError'
  }
}

export interface StartupFailure {
  readonly message: string
  readonly exitCode: typeof EXIT_RUNTIME | typeof EXIT_CONFIG
  /** False for a bug: its stack belongs in the log. */
  readonly expected: boolean
}

export function describeStartupFailure(err: unknown): StartupFailure {
  if (err instanceof StartupError) return { message: err.message, exitCode: err.exitCode, expected: true }
  if (err instanceof ConfigError) {
    const problems = err.problems.map(problemText)
    const message =
      problems.length === 1
        ? (problems[0] as string)
        : `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`
    return { message, exitCode: EXIT_CONFIG, expected: true }
  }
  const message = err instanceof Error ? err.message : String(err)
  return { message: `unexpected error: ${message}`, exitCode: EXIT_RUNTIME, expected: false }
}

type Env = Readonly<Record<string, string | undefined>>

/** A failed listen in words, naming the setting to change; other errors come back unchanged. */
export function listenFailure(err: unknown, config: GatewayConfig, env: Env): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  const { host, port } = config.server
  // As load-config.ts reads them: any GATEWAY_PORT, a non-empty GATEWAY_HOST.
  const portSetting = setting(config, env.GATEWAY_PORT !== undefined && 'GATEWAY_PORT', ['server', 'port'])
  const hostSetting = setting(config, Boolean(env.GATEWAY_HOST) && 'GATEWAY_HOST', ['server', 'host'])
  switch (code) {
    case 'EADDRINUSE':
      return new StartupError(`port ${port} is already in use on ${host} (${portSetting})`, EXIT_RUNTIME)
    case 'EACCES':
    case 'EPERM':
      return new StartupError(
        `no permission to listen on port ${port} (${portSetting}): ports below 1024 need CAP_NET_BIND_SERVICE`,
        EXIT_RUNTIME,
      )
    case 'EADDRNOTAVAIL':
      return new StartupError(`${host} is not an address of this machine (${hostSetting})`, EXIT_RUNTIME)
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new StartupError(`host name ${host} does not resolve (${hostSetting})`, EXIT_RUNTIME)
    default:
      return err
  }
}

/** Why a file or folder could not be used, from its errno code, in words. */
function fileReason(code: string | undefined, fallback: string): string {
  switch (code) {
    case 'ENOENT':
      return 'does not exist'
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)'
    case 'EISDIR':
      return 'is a folder, not a file'
    case 'ENOTDIR':
      return 'is not a folder, or a part of its path is not'
    case 'ELOOP':
      return 'is a symbolic link loop'
    default:
      return fallback
  }
}

/** The file relative to the working folder when it lies inside it, as a person typed it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file)
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file
}

function problemText(p: ConfigProblem): string {
  // A file that cannot be read has no line to point at: say why in words.
  if (p.field === '(file)' && p.line === 0) {
    const code = /^(E[A-Z]+):/.exec(p.message)?.[1]
    return `${displayPath(p.file)}: ${fileReason(code, p.message)}`
  }
  if (p.file === 'environment') return `environment ${p.field}: ${p.message}`
  return formatProblem({ ...p, file: displayPath(p.file) })
}

/** Where the value in use was set: the environment variable, or the config file's line. */
function setting(config: GatewayConfig, envName: string | false, path: readonly string[]): string {
  if (envName) return envName
  const line = lineOf(config.configFile, path)
  const file = displayPath(config.configFile)
  return line === undefined
    ? `${path.join('.')} is not set in ${file}: the default applies`
    : `${path.join('.')} in ${file}:${line}`
}

/** The line a field is written on, or undefined when the file does not set it. */
function lineOf(file: string, path: readonly string[]): number | undefined {
  try {
    const { source } = parseYamlSource(file, readFileSync(file, 'utf8'))
    if (!source) return undefined
    let node: unknown = source.data
    for (const key of path) {
      if (node === null || typeof node !== 'object' || !(key in node)) return undefined
      node = (node as Record<string, unknown>)[key]
    }
    return source.lineOf(path)
  } catch {
    return undefined
  }
}
