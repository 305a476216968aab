// The `browser` section: what people in a browser get that API clients do not. Where an anonymous
// browser is sent to log in (and with which return parameter), the origins a return target may
// be on, and the template of the refusal page. Kept apart from schema.ts and load-config.ts so
// those only wire it in; the defaults live in the schema, as everywhere in the config.
import { resolve } from 'node:path'
import { ConfigError, type ConfigProblem } from './problems.js'
import type { YamlSource } from './yaml-source.js'

export interface BrowserConfig {
  /** Where an anonymous download that prefers HTML is redirected; null: it gets the refusal page. */
  readonly loginRedirect: { readonly url: string } | null
  /** The query parameter (and form field of the built-in login) the return URL travels in. */
  readonly returnParam: string
  /** `https://files.example.com`: makes return URLs absolute; undefined: they are paths. */
  readonly publicOrigin: string | undefined
  /** Origins an absolute `next` may be on at the built-in login (the public origin included). */
  readonly allowedReturnOrigins: readonly string[]
  /** Absolute path of the operator's refusal page template; undefined: the built-in one. */
  readonly refusalTemplate: string | undefined
}

// Printable ASCII only, a path on this site (one leading slash, no backslash) or an http(s) URL.
const LOGIN_URL = '^(/(?![/\\\\])|[hH][tT][tT][pP][sS]?://)[\\x21-\\x7e]*$'
// The form's own fields cannot carry the return target.
const RETURN_PARAM = '^(?!(username|password|_csrf)$)[A-Za-z0-9_.-]{1,64}$'

export const browserSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    login_redirect: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // auto: on exactly when the built-in login is, to its form.
        enabled: { enum: [true, false, 'auto'], default: 'auto' },
        url: { type: 'string', minLength: 1, maxLength: 2048, pattern: LOGIN_URL },
        return_param: { type: 'string', pattern: RETURN_PARAM, default: 'next' },
      },
      default: {},
    },
    public_origin: { type: 'string', pattern: '^https?://' },
    allowed_return_origins: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', pattern: '^https?://' },
      default: [],
    },
    refusal_template: { type: 'string', minLength: 1 },
  },
  default: {},
} as const

/** The checked section; throws ConfigError naming the line of each problem. */
export function browserConfigFrom(
  // biome-ignore lint/suspicious/noExplicitAny: the schema has checked the shape already
  raw: any,
  builtInLogin: boolean,
  source: YamlSource,
  baseDir: string,
): BrowserConfig {
  const problems: ConfigProblem[] = []
  const problem = (path: (string | number)[], message: string) =>
    problems.push({
      file: source.file,
      line: source.lineOf(['browser', ...path]),
      field: ['browser', ...path].join('.'),
      message,
    })
  const origin = (value: string, path: (string | number)[]): string | undefined => {
    const parsed = URL.canParse(value) ? new URL(value) : undefined
    if (
      parsed === undefined ||
      parsed.origin === 'null' ||
      parsed.origin !== value.replace(/\/$/, '').toLowerCase()
    ) {
      problem(path, `${JSON.stringify(value)} is not an origin: write scheme://host[:port], no path`)
      return undefined
    }
    return parsed.origin
  }
  const publicOrigin =
    raw.public_origin === undefined ? undefined : origin(raw.public_origin, ['public_origin'])
  const allowed = (raw.allowed_return_origins as string[]).flatMap(
    (o, i) => origin(o, ['allowed_return_origins', i]) ?? [],
  )

  const redirect = raw.login_redirect
  const on = redirect.enabled === 'auto' ? builtInLogin || redirect.url !== undefined : redirect.enabled
  const url: string | undefined = redirect.url ?? (builtInLogin ? '/login' : undefined)
  if (on && url === undefined)
    problem(
      ['login_redirect', 'enabled'],
      'needs login_redirect.url: the built-in login is off, so there is no login page to send browsers to',
    )
  if (url !== undefined && /^https?:/i.test(url)) {
    if (!URL.canParse(url)) problem(['login_redirect', 'url'], 'is not a URL')
    // The login page is on another site: a path there would come back to that site, not here.
    else if (on && raw.public_origin === undefined)
      problem(
        ['login_redirect', 'url'],
        'an absolute login URL needs browser.public_origin, so the return URL names this site',
      )
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return {
    loginRedirect: on && url !== undefined ? { url } : null,
    returnParam: redirect.return_param,
    publicOrigin,
    allowedReturnOrigins: publicOrigin === undefined ? allowed : [...new Set([publicOrigin, ...allowed])],
    refusalTemplate: raw.refusal_template === undefined ? undefined : resolve(baseDir, raw.refusal_template),
  }
}
