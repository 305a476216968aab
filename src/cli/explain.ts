// `explain`: what the gateway answers a download request, and why. The request target is read the
// way the gateway reads it (early-refusals.ts for what Node's parser refuses, then the download
// decision itself: routes/download-decision.ts), so the two cannot disagree.
import { DEFAULT_POLICY, describeDecision, loadRuleSet, type Subject } from '../acl/index.js'
import { loadConfig } from '../config/load-config.js'
import { ConfigError } from '../config/problems.js'
import { gatewayConfigSchema } from '../config/schema.js'
import { explainDownload } from '../decision/download-decision.js'
import { refusalForParserError } from '../http/early-refusals.js'
import { aclOptionsOf } from '../preflight.js'
import { EXIT_INVALID, EXIT_OK, EXIT_REFUSED } from './exit-codes.js'
import type { Env, Io, Parsed } from './io.js'
import {
  parseOptions,
  printProblems,
  type RuleSource,
  ruleSourceFrom,
  SOURCE_OPTIONS,
  type SourceValues,
} from './rule-source.js'

export interface ExplainCommand {
  readonly name: 'explain'
  readonly source: RuleSource
  /** Anonymous (no --user): a request without a session. */
  readonly subject: Subject
  /** As given: a URL, a request target under the route prefix, or a file path. */
  readonly target: string
}

export const EXPLAIN_USAGE = `  download-gateway explain [--config <gateway.yaml> | --acl <file|dir|glob> ... [--default deny|allow]]
                           [--user <id> [--group <name>]...] <url | /download/... | /file/path>
      prints the status and reason code the gateway answers that request with, the canonical
      path, and the rule that decided it (file:line); without --user the request has no session.
      exit 0 the file is delivered, 1 refused, 2 usage or load error`

const EXPLAIN_OPTIONS = {
  ...SOURCE_OPTIONS,
  user: { type: 'string' },
  group: { type: 'string', multiple: true },
} as const

export function parseExplainArgs(
  args: readonly string[],
  env: Env,
): Parsed<ExplainCommand | { name: 'help' }> {
  const parsed = parseOptions<SourceValues & { user?: string; group?: string[] }>(args, EXPLAIN_OPTIONS)
  if (!parsed.ok) return parsed
  const { values, positionals } = parsed.command
  if (values.help) return { ok: true, command: { name: 'help' } }
  const source = ruleSourceFrom(values, env)
  if (!source.ok) return source
  if (positionals.length !== 1) return { ok: false, message: 'explain needs exactly one <url or path>' }
  // The gateway takes groups from a logged-in user's session: an anonymous request has none.
  if (values.user === undefined && (values.group ?? []).length > 0)
    return { ok: false, message: '--group needs --user: an anonymous request has no groups' }
  const subject: Subject = { user: values.user ?? null, groups: values.group ?? [] }
  return {
    ok: true,
    command: { name: 'explain', source: source.command, subject, target: positionals[0] as string },
  }
}

/** A request target as the gateway receives it, from what was given on the command line. */
export type RequestTarget = Parsed<{ readonly target: string; readonly fromFilePath: boolean }>

/**
 * A URL (`https://host/download/a.pdf?x`: the target is everything after the host, not resolved
 * or re-encoded, exactly what `curl --path-as-is` sends) or a target under the route prefix is
 * taken as it is; any other path is a file path below the files root, percent-encoded segment by
 * segment as a browser would link to it.
 */
export function requestTargetOf(given: string, routePrefix: string): RequestTarget {
  const origin = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(given)
  if (origin) {
    const target = given.slice(origin[0].length) || '/'
    if (!target.startsWith(routePrefix))
      return {
        ok: false,
        message: `'${given}' is not a download: the gateway's route prefix is ${routePrefix}`,
      }
    return { ok: true, command: { target, fromFilePath: false } }
  }
  if (given.startsWith(routePrefix)) return { ok: true, command: { target: given, fromFilePath: false } }
  if (!given.startsWith('/'))
    return {
      ok: false,
      message: `give a URL, a request target under ${routePrefix}, or a file path starting with '/'`,
    }
  const encoded = given.slice(1).split('/').map(encodeURIComponent).join('/')
  return { ok: true, command: { target: `${routePrefix}${encoded}`, fromFilePath: true } }
}

interface LoadedRules {
  readonly ruleSet: Parameters<typeof explainDownload>[2]['acl']['current']
  readonly routePrefix: string
  readonly mode: 'x-accel' | 'direct' | undefined
}

async function loadRules(source: RuleSource, io: Io): Promise<LoadedRules | null> {
  let paths: readonly string[]
  let options: Parameters<typeof loadRuleSet>[1]
  // Rule files alone name no route: the config's default, from the schema that defines it.
  let routePrefix: string = gatewayConfigSchema.properties.delivery.properties.route_prefix.default
  let mode: LoadedRules['mode']
  if (source.kind === 'acl') {
    paths = source.paths
    options = { defaultEffect: source.defaultEffect, defaults: DEFAULT_POLICY }
  } else {
    try {
      // Secrets do not change a decision; a placeholder keeps a Redis config from failing on them.
      const config = loadConfig({ GATEWAY_CONFIG: source.file, GATEWAY_SESSION_SECRETS: 'x'.repeat(32) })
      paths = config.acl.paths
      options = aclOptionsOf(config)
      routePrefix = config.delivery.routePrefix
      mode = config.delivery.mode
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err
      io.err(err.message)
      return null
    }
  }
  const result = await loadRuleSet(paths, options)
  if (!result.ok) {
    printProblems(io, result.errors)
    return null
  }
  return { ruleSet: result.ruleSet, routePrefix, mode }
}

export async function runExplain(command: ExplainCommand, io: Io): Promise<number> {
  const rules = await loadRules(command.source, io)
  if (!rules) return EXIT_INVALID
  const request = requestTargetOf(command.target, rules.routePrefix)
  if (!request.ok) {
    io.err(`error: ${request.message}`)
    return EXIT_INVALID
  }
  const { target } = request.command
  io.out(`request:  GET ${printable(target)}`)

  // Node's parser refuses a target with a byte outside printable ASCII before the gateway sees it.
  if (/[^\x21-\x7e]/.test(target)) {
    const error = refusalForParserError('HPE_INVALID_URL')
    io.out(
      `status:   ${error.statusCode} ${error.code}: Node's HTTP parser refuses a raw byte outside printable ASCII`,
    )
    io.out(
      `hint:     clients percent-encode such names: ${rules.routePrefix}${encodeRaw(target.slice(rules.routePrefix.length))}`,
    )
    return EXIT_REFUSED
  }

  const subject = command.subject
  const explained = explainDownload(target, subject, {
    routePrefix: rules.routePrefix,
    acl: { current: rules.ruleSet },
  })
  const { outcome, canonical, decision } = explained
  if (canonical && decision) io.out(describeDecision(canonical.aclPath, subject, decision).trimEnd())
  if (outcome.allow) {
    io.out(`status:   200 GW_ALLOW: ${deliveryNote(rules.mode)}`)
    return EXIT_OK
  }
  const status = outcome.error.statusCode
  io.out(
    `status:   ${status} ${outcome.error.code}${refusalNote(outcome.error.code, outcome.error.log?.detail, decision?.policy.refusal)}`,
  )
  return EXIT_REFUSED
}

function deliveryNote(mode: LoadedRules['mode']): string {
  if (mode === 'x-accel') return 'nginx sends the file (its own 404 if there is none)'
  if (mode === 'direct')
    return 'the gateway sends the file (404 GW_ERR_NOT_FOUND if no regular file is there)'
  return 'the file is delivered'
}

function refusalNote(code: string, detail: string | undefined, refusal: number | undefined): string {
  if (code === 'GW_ERR_BAD_PATH' || code === 'GW_ERR_PATH_TOO_LONG')
    return ` (${detail}): refused before any session or rule is looked at`
  if (code === 'GW_ERR_NO_SESSION')
    return refusal === 403
      ? ': a request without a session is asked to log in (refusal 403 is for logged-in users)'
      : ': a request without a session is asked to log in'
  if (code === 'GW_ERR_HIDDEN') return ': the rule answers as if the file did not exist'
  return ''
}

/** For the terminal: controls, space and DEL written as in the log (\xHH); other text as it is. */
function printable(target: string): string {
  let out = ''
  for (const ch of target) {
    const c = ch.codePointAt(0) as number
    out += c <= 0x20 || (c >= 0x7f && c <= 0x9f) ? `\\x${c.toString(16).toUpperCase().padStart(2, '0')}` : ch
  }
  return out
}

function encodeRaw(text: string): string {
  return text.replace(/[^\x21-\x7e]/gu, (ch) =>
    Array.from(Buffer.from(ch, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''),
  )
}
