// What the gateway checks at start beyond the config itself (load-config.ts) and its rules (acl/):
// the files root direct delivery reads, the login users file, and that no user has the password
// the README publishes. server.ts and `cli check` both run preflight(): the same checks, the same
// words.
import { readFileSync, realpathSync } from 'node:fs'
import type { AclOptions } from './acl/index.js'
import { compileRefusalTemplate, type RefusalPage } from './browser/refusal-page.js'
import type { GatewayConfig } from './config/gateway-config.js'
import { ConfigError, formatProblem } from './config/problems.js'
import { parseYamlSource } from './config/yaml-source.js'
import { publishedPasswordRefusal } from './login/published-password.js'
import { type LoginUser, loadUsersFile } from './login/users-file.js'

export interface Prepared {
  /** Real path of the files root in direct mode; as configured in x-accel mode. */
  readonly realFilesRoot: string
  /** The login users, when login is enabled. */
  readonly users: ReadonlyMap<string, LoginUser> | undefined
  /** The operator's refusal page, when `browser.refusal_template` names one. */
  readonly refusalPage: RefusalPage | undefined
}

/** Problems are one line each, `file:line field: message`. */
export type Preflight = ({ ok: true } & Prepared) | { ok: false; problems: readonly string[] }

/** The options the ACL is loaded with, by the server's holder and by the command line alike. */
export function aclOptionsOf(config: GatewayConfig): AclOptions {
  return { defaultEffect: config.acl.defaultEffect, defaults: config.acl.defaults }
}

/** Every check below the config and the rules; all problems, not only the first. */
export async function preflight(config: GatewayConfig): Promise<Preflight> {
  const problems: string[] = []
  let realFilesRoot = config.delivery.filesRoot
  let users: ReadonlyMap<string, LoginUser> | undefined
  try {
    realFilesRoot = realFilesRootOf(config)
  } catch (err) {
    problems.push(...problemsOf(err))
  }
  try {
    users = loginUsersOf(config)
  } catch (err) {
    problems.push(...problemsOf(err))
  }
  let refusalPage: RefusalPage | undefined
  try {
    refusalPage = refusalPageOf(config)
  } catch (err) {
    problems.push(...problemsOf(err))
  }
  const published = await publishedPasswordRefusal(config.login, users)
  if (published) problems.push(published)
  return problems.length > 0 ? { ok: false, problems } : { ok: true, realFilesRoot, users, refusalPage }
}

/** The template `browser.refusal_template` names, checked; undefined for the built-in page. */
export function refusalPageOf(config: GatewayConfig): RefusalPage | undefined {
  const file = config.browser.refusalTemplate
  if (file === undefined) return undefined
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw configFieldError(
      config,
      ['browser', 'refusal_template'],
      `${file} ${reasonOf(err, 'cannot be read')}`,
    )
  }
  const compiled = compileRefusalTemplate(text, file, '')
  if (!compiled.ok) throw new ConfigError(compiled.problems)
  return compiled.page
}

/**
 * Only direct delivery reads the files; in x-accel mode they may live on nginx's side only. The
 * real path: direct delivery checks that every file it opens stays below it.
 */
export function realFilesRootOf(config: GatewayConfig): string {
  if (config.delivery.mode !== 'direct') return config.delivery.filesRoot
  try {
    return realpathSync(config.delivery.filesRoot)
  } catch (err) {
    throw configFieldError(
      config,
      ['delivery', 'files_root'],
      `${config.delivery.filesRoot} ${reasonOf(err, 'does not exist')}`,
    )
  }
}

/** The users file when login is enabled; a file that cannot be read is named with the config field. */
export function loginUsersOf(config: GatewayConfig): ReadonlyMap<string, LoginUser> | undefined {
  const file = config.login.usersFile
  if (!config.login.enabled || !file) return undefined
  try {
    return loadUsersFile(file)
  } catch (err) {
    const unreadable = err instanceof ConfigError ? err.problems.find((p) => p.field === '(file)') : undefined
    if (!unreadable) throw err
    // loadUsersFile's message is the system error's: `ENOENT: no such file or directory, open ...`.
    const code = /^(E[A-Z]+):/.exec(unreadable.message)?.[1]
    throw configFieldError(config, ['login', 'users_file'], `${file} ${reasonOf({ code }, 'cannot be read')}`)
  }
}

function problemsOf(err: unknown): string[] {
  if (err instanceof ConfigError) return err.problems.map(formatProblem)
  throw err
}

function reasonOf(err: unknown, fallback: string): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code
  if (code === 'ENOENT') return 'does not exist'
  if (code === 'EACCES') return 'cannot be read (permission denied)'
  if (code === 'EISDIR') return 'is a directory'
  return fallback
}

/** A problem at the line of `path` in the config file (found again: the checked config has no lines). */
function configFieldError(config: GatewayConfig, path: readonly string[], message: string): ConfigError {
  let line = 0
  try {
    const { source } = parseYamlSource(config.configFile, readFileSync(config.configFile, 'utf8'))
    line = source?.lineOf(path) ?? 0
  } catch {
    // The file was read a moment ago; without it the problem still names file and field.
  }
  return new ConfigError([{ file: config.configFile, line, field: path.join('.'), message }])
}
