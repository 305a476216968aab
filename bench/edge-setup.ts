// The edge link setup: nginx from the project's template with edge links on, checking an edge link
// for the 1 KiB file with njs and sending it, no Node process behind it (its upstream is the bare
// handler, which an edge download never reaches). Its target is nginx static, in the same run.
import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_POLICY } from '../src/acl/index.js'
import { issueEdgeLink } from '../src/credentials/issue.js'
import { parseEdgeLinkKeys } from '../src/credentials/links/link-keys.js'
import { startNginx } from '../test/harness/nginx.js'
import { INTERNAL_PREFIX } from './gateway-setup.js'
import { SERVER_CPU, SIZES } from './run-settings.js'
import type { Setup } from './run-setups.js'

export const EDGE_SETUP = 'edge link'
/** Edge link 1 KiB req/s against nginx static's (issue 21). */
export const EDGE_TARGET = 0.8

export async function startEdgeSetup(
  dir: string,
  filesRoot: string,
  upstreamPort: number,
  stops: (() => Promise<void>)[],
): Promise<Setup> {
  const keysText = JSON.stringify({ keys: [{ kid: 'bench', secret: randomBytes(32).toString('base64url') }] })
  const keysFile = join(dir, 'edge-link-keys.json')
  await writeFile(keysFile, keysText, { mode: 0o600 })
  const keys = parseEdgeLinkKeys(keysText)
  if (!keys.ok || keys.ring === null) throw new Error('bench edge link key')
  const file = SIZES[0].file
  const link = issueEdgeLink(
    { path: `/${file}`, ttl: '1d', issuer: 'bench' },
    keys.ring,
    { maxTtlSeconds: 86_400 },
    () => DEFAULT_POLICY,
  )
  if (!link.ok) throw new Error(link.message)
  const nginx = await startNginx({
    gatewayPort: upstreamPort,
    filesRoot,
    internalPrefix: INTERNAL_PREFIX,
    cpuList: SERVER_CPU,
    accessLog: false,
    edgeLinks: { keysFile },
  })
  stops.push(() => nginx.stop())
  return {
    name: EDGE_SETUP,
    base: `${nginx.baseUrl}/edge/`,
    node: undefined,
    nginx,
    usesRedis: false,
    // One link names one file: the link for the 1 KiB file is the one measured.
    onlySizes: [SIZES[0].label],
    query: link.value.url.slice(link.value.url.indexOf('?')),
  }
}
