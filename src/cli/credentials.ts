// `download-gateway link ...` and `token ...`: issue and revoke share links and access tokens.
// Signing a link needs only the keys, so `link create` works offline (the main app can do the
// same with the same keys). Revoking and tokens need the store the gateways read: Redis straight
// from the config, or the admin API of a running gateway (`--admin-url`), which is the only way to
// reach the embedded store of a single gateway process.
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { DEFAULT_POLICY, loadRuleSet } from '../acl/index.js'
import type { GatewayConfig } from '../config/gateway-config.js'
import { DEFAULT_CONFIG_FILE, loadConfig } from '../config/load-config.js'
import { ConfigError } from '../config/problems.js'
import { CredentialStoreUnavailableError } from '../credentials/credential-store.js'
import {
  issueLinkOfKind,
  issueToken,
  LINK_KINDS,
  type LinkKind,
  linkSummaryJson,
} from '../credentials/issue.js'
import { LINK_ID_PATTERN } from '../credentials/links/share-link.js'
import { RedisCredentialStore } from '../credentials/redis-credential-store.js'
import { TOKEN_ID_PATTERN } from '../credentials/tokens/access-token.js'
import { aclOptionsOf } from '../preflight.js'
import { EXIT_INVALID, EXIT_OK, EXIT_REFUSED, EXIT_STORE_UNREACHABLE } from './exit-codes.js'
import type { Env, Io } from './io.js'
import { printProblems } from './rule-source.js'

export const CREDENTIALS_USAGE = `usage:
  download-gateway link create --path </file | /folder/> --ttl <7d|12h|...> [--max-downloads <n>]
                               [--issuer <id>] [--kind share|edge] [--config <gateway.yaml>]
      signs a share link with the newest key of GATEWAY_LINK_KEYS and prints it as JSON;
      --kind edge: an edge link for one file, checked by nginx alone, signed with the newest key
      of GATEWAY_EDGE_LINK_KEYS, carrying the headers the config's rules give that file
  download-gateway link revoke <link-id> [--config <gateway.yaml> | --admin-url <url>]
  download-gateway token create --user <id> [--group <name>]... --ttl <30d|...> [--scope </folder/>]
                                [--config <gateway.yaml> | --admin-url <url>]
      prints the new token once, as JSON; only its hash is stored
  download-gateway token revoke <token-id> [--config <gateway.yaml> | --admin-url <url>]
With --admin-url the running gateway's admin API does it (GATEWAY_ADMIN_TOKEN authenticates);
otherwise the Redis named by the config (the embedded store is reachable only through the API).`

const OPTIONS = {
  config: { type: 'string' },
  'admin-url': { type: 'string' },
  path: { type: 'string' },
  ttl: { type: 'string' },
  'max-downloads': { type: 'string' },
  issuer: { type: 'string' },
  user: { type: 'string' },
  group: { type: 'string', multiple: true },
  scope: { type: 'string' },
  kind: { type: 'string' },
} as const satisfies ParseArgsConfig['options']

/**
 * argv starts with `link` or `token`. Exit status: 0 done, 1 refused by the store or the API,
 * 2 usage or configuration error, 3 the store or the API cannot be reached.
 */
export async function runCredentialCommand(argv: readonly string[], io: Io, env: Env): Promise<number> {
  const [noun, verb, ...rest] = argv
  let values: Record<string, string | string[] | undefined>
  let positionals: string[]
  try {
    const args =
      verb === 'revoke' ? idsAsPositionals(rest, noun === 'link' ? LINK_ID_PATTERN : TOKEN_ID_PATTERN) : rest
    const parsed = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true, strict: true })
    values = parsed.values as typeof values
    positionals = parsed.positionals
  } catch (err) {
    return usage(io, (err as Error).message)
  }
  const v = (name: string) => values[name] as string | undefined
  const config = () => configFrom(v('config'), env)
  try {
    if (noun === 'link' && verb === 'create') {
      const path = v('path')
      const ttl = v('ttl')
      if (path === undefined || ttl === undefined) return usage(io, 'link create needs --path and --ttl')
      const max = v('max-downloads')
      if (max !== undefined && !/^[1-9][0-9]{0,8}$/.test(max))
        return usage(io, '--max-downloads must be a whole number >= 1')
      const kind = v('kind') ?? 'share'
      if (!(LINK_KINDS as readonly string[]).includes(kind))
        return usage(io, `--kind must be ${LINK_KINDS.join(' or ')}`)
      const c = config()
      const issuer = v('issuer') ?? 'cli'
      // Only an edge link needs the rules: it carries the response policy they give its file.
      const rules = kind === 'edge' ? await loadRuleSet(c.acl.paths, aclOptionsOf(c)) : null
      if (rules && !rules.ok) {
        printProblems(io, rules.errors)
        return EXIT_INVALID
      }
      const issued = issueLinkOfKind(
        kind as LinkKind,
        { path, ttl, issuer, ...(max === undefined ? {} : { maxDownloads: Number(max) }) },
        {
          shareKeys: c.links.keys,
          edgeKeys: c.links.edgeKeys,
          maxTtlSeconds: c.links.maxTtlSeconds,
          routePrefix: c.delivery.routePrefix,
          policyFor: (aclPath) =>
            rules?.ok ? rules.ruleSet.decide(aclPath, { user: issuer, groups: [] }).policy : DEFAULT_POLICY,
        },
      )
      if (!issued.ok) return usage(io, issued.message)
      io.out(JSON.stringify(linkSummaryJson(issued.value, false)))
      return EXIT_OK
    }
    if (noun === 'token' && verb === 'create') {
      const user = v('user')
      const ttl = v('ttl')
      if (user === undefined || ttl === undefined) return usage(io, 'token create needs --user and --ttl')
      const groups = (values.group as string[] | undefined) ?? []
      const scope = v('scope')
      const adminUrl = v('admin-url')
      if (adminUrl !== undefined) {
        const body = { user, groups, ttl, ...(scope === undefined ? {} : { scope }) }
        return await viaApi(io, env, adminUrl, 'POST', '/tokens', body)
      }
      const issued = issueToken({ user, groups, ttl, ...(scope === undefined ? {} : { scope }) })
      if (!issued.ok) return usage(io, issued.message)
      const r = issued.value.record
      await withRedis(config(), (store) => store.putToken(r))
      io.out(
        JSON.stringify({
          id: r.id,
          token: issued.value.token,
          user: r.user,
          groups: r.groups,
          scope: r.scope ?? null,
          expires_at: new Date(r.expiresAt * 1000).toISOString(),
        }),
      )
      return EXIT_OK
    }
    if ((noun === 'link' || noun === 'token') && verb === 'revoke') {
      const id = positionals[0]
      if (id === undefined || positionals.length !== 1)
        return usage(io, `${noun} revoke needs exactly one id`)
      const pattern = noun === 'link' ? LINK_ID_PATTERN : TOKEN_ID_PATTERN
      if (!pattern.test(id)) return usage(io, `'${id}' is not a ${noun} id`)
      const adminUrl = v('admin-url')
      if (adminUrl !== undefined) return await viaApi(io, env, adminUrl, 'DELETE', `/${noun}s/${id}`)
      const c = config()
      const found = await withRedis(c, (store) =>
        noun === 'link'
          ? store.revokeLink(id, Math.floor(Date.now() / 1000) + c.links.maxTtlSeconds).then(() => true)
          : store.revokeToken(id),
      )
      if (!found) {
        io.err(`error: no token '${id}'`)
        return EXIT_REFUSED
      }
      io.out(`revoked ${noun} ${id}`)
      return EXIT_OK
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message)
      return EXIT_INVALID
    }
    if (err instanceof CredentialStoreUnavailableError) {
      io.err(`error: ${err.message}`)
      return EXIT_STORE_UNREACHABLE
    }
    throw err
  }
  return usage(io, `unknown command '${[noun, verb].filter(Boolean).join(' ')}'`)
}

/**
 * A link id is base64url, so one in 64 begins with `-` and would be read as an option: an argument
 * of an id's exact shape that is not an option's value goes after `--`, as the id.
 */
function idsAsPositionals(args: readonly string[], idShape: RegExp): string[] {
  const options: string[] = []
  const ids: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const option = arg.startsWith('--') ? OPTIONS[arg.slice(2) as keyof typeof OPTIONS] : undefined
    if (option?.type === 'string' && i + 1 < args.length) {
      options.push(arg, args[++i] as string)
    } else if (idShape.test(arg)) {
      ids.push(arg)
    } else {
      options.push(arg)
    }
  }
  return options.includes('--') ? [...options, ...ids] : [...options, '--', ...ids]
}

function usage(io: Io, message: string): number {
  io.err(`error: ${message}`)
  io.err(CREDENTIALS_USAGE)
  return EXIT_INVALID
}

/** The config the gateways run with; session secrets and the admin token are not needed here. */
export function configFrom(file: string | undefined, env: Env): GatewayConfig {
  return loadConfig({
    ...env,
    GATEWAY_CONFIG: file ?? env.GATEWAY_CONFIG ?? DEFAULT_CONFIG_FILE,
    GATEWAY_SESSION_SECRETS: env.GATEWAY_SESSION_SECRETS ?? 'x'.repeat(32),
    GATEWAY_ADMIN_TOKEN: env.GATEWAY_ADMIN_TOKEN ?? 'x'.repeat(32),
  })
}

async function withRedis<T>(
  config: GatewayConfig,
  work: (store: RedisCredentialStore) => Promise<T>,
): Promise<T> {
  if (config.session.store !== 'redis')
    throw new ConfigError([
      {
        file: config.configFile,
        line: 0,
        field: 'session.store',
        message: 'the embedded store lives inside the gateway process: use --admin-url <its admin API>',
      },
    ])
  const r = config.session.redis
  const store = new RedisCredentialStore({
    ...r,
    keyPrefix: undefined,
    commandTimeoutMs: Math.max(r.commandTimeoutMs, 2000),
    reconnect: false,
    // One command and gone: nothing to keep in memory.
    clientCache: false,
  })
  try {
    await store.connect()
    return await work(store)
  } finally {
    await store.close()
  }
}

export async function viaApi(
  io: Io,
  env: Env,
  base: string,
  method: 'POST' | 'DELETE',
  path: string,
  body?: object,
): Promise<number> {
  const token = env.GATEWAY_ADMIN_TOKEN
  if (!token) {
    io.err('error: --admin-url needs GATEWAY_ADMIN_TOKEN in the environment')
    return EXIT_INVALID
  }
  let res: Response
  try {
    res = await fetch(`${base.replace(/\/$/, '')}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    })
  } catch (err) {
    io.err(`error: the admin API at ${base} cannot be reached: ${(err as Error).message}`)
    return EXIT_STORE_UNREACHABLE
  }
  const text = await res.text()
  if (!res.ok) {
    io.err(`error: ${res.status} ${text}`)
    return EXIT_REFUSED
  }
  io.out(text === '' ? `done (${res.status})` : text)
  return EXIT_OK
}
