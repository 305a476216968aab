// `session.redis.mode` and the keys that go with it: a single server is named by `url`; a Sentinel
// group and a cluster by `nodes` (and the group by `sentinel.master_name`). A key of one mode set
// under another is refused, not ignored: a file that says cluster and names a url was written for
// something the gateway would not be doing.
import type { RedisMode, RedisNodeAddress } from '../redis/connection.js'
import type { ConfigProblem } from './problems.js'
import { fieldName } from './schema-check.js'
import type { YamlSource } from './yaml-source.js'

export interface RedisTopology {
  readonly mode: RedisMode
  readonly nodes: readonly RedisNodeAddress[]
  readonly masterName: string | undefined
  readonly sentinelPassword: string | undefined
}

interface RawRedis {
  mode: RedisMode
  nodes?: string[]
  tls: boolean
  sentinel?: { master_name?: string }
}

type Env = Readonly<Record<string, string | undefined>>

/** The topology, or every problem with it (file, line, field). */
export function readRedisTopology(
  raw: RawRedis,
  source: YamlSource,
  env: Env,
  sentinelPassword: string | undefined,
): { topology: RedisTopology; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = []
  // A key that is missing is reported at the line of `mode`, which asked for it.
  const at = (path: (string | number)[], message: string, linePath = path) =>
    problems.push({
      file: source.file,
      line: source.lineOf(['session', 'redis', ...linePath]),
      field: fieldName(['session', 'redis', ...path]),
      message,
    })
  const { mode } = raw
  if (mode === 'single') {
    if (raw.nodes !== undefined) at(['nodes'], 'is for mode sentinel or cluster; mode single uses url')
    if (raw.sentinel !== undefined) at(['sentinel'], 'is for mode sentinel')
    if (raw.tls) at(['tls'], 'is for mode sentinel or cluster; mode single says TLS with a rediss:// url')
    if (sentinelPassword !== undefined)
      problems.push({
        file: 'environment',
        line: 0,
        field: 'GATEWAY_REDIS_SENTINEL_PASSWORD',
        message: 'is for session.redis.mode sentinel',
      })
  } else {
    if (raw.nodes === undefined)
      at(
        ['nodes'],
        `mode ${mode} needs session.redis.nodes (${mode === 'sentinel' ? 'the sentinels' : 'seed nodes'})`,
        ['mode'],
      )
    if (source.has(['session', 'redis', 'url'])) at(['url'], `is for mode single; mode ${mode} uses nodes`)
    if (env.GATEWAY_REDIS_URL)
      problems.push({
        file: 'environment',
        line: 0,
        field: 'GATEWAY_REDIS_URL',
        message: `is for session.redis.mode single; mode ${mode} uses session.redis.nodes`,
      })
    if (mode === 'sentinel' && raw.sentinel?.master_name === undefined)
      at(['sentinel', 'master_name'], 'required with mode sentinel (the name the sentinels monitor)', [
        'mode',
      ])
    if (mode === 'cluster' && raw.sentinel !== undefined) at(['sentinel'], 'is for mode sentinel')
    if (mode === 'cluster' && sentinelPassword !== undefined)
      problems.push({
        file: 'environment',
        line: 0,
        field: 'GATEWAY_REDIS_SENTINEL_PASSWORD',
        message: 'is for session.redis.mode sentinel',
      })
  }
  const nodes: RedisNodeAddress[] = []
  for (const [i, text] of (raw.nodes ?? []).entries()) {
    const colon = text.lastIndexOf(':')
    const port = Number(text.slice(colon + 1))
    if (port < 1 || port > 65535) at(['nodes', i], 'port must be 1-65535')
    // [::1]:26379 -> ::1
    nodes.push({ host: text.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port })
  }
  return {
    topology: {
      mode,
      nodes: mode === 'single' ? [] : nodes,
      masterName: mode === 'sentinel' ? raw.sentinel?.master_name : undefined,
      sentinelPassword: mode === 'sentinel' ? sentinelPassword : undefined,
    },
    problems,
  }
}
