// Setups of the full benchmark that are not a server of their own: the share link and access
// token its link and token rows ask with, and the plain static location nginx static is.
import { issueLink, issueToken } from '../src/credentials/issue.js'
import { parseLinkKeys } from '../src/credentials/links/link-keys.js'
import { RedisCredentialStore } from '../src/credentials/redis-credential-store.js'
import { singleRedis } from '../src/redis/connection.js'
import { BENCH_LINK_KEY } from './gateway-setup.js'

/** A folder link for the bench files and a token for the session's user, in the bench Redis. */
export async function benchCredentials(redisUrl: string): Promise<{ query: string; token: string }> {
  const keys = parseLinkKeys(BENCH_LINK_KEY)
  if (!keys.ok || keys.ring === null) throw new Error('bench link key')
  const link = issueLink({ path: '/bench/', ttl: '1d', issuer: 'bench' }, keys.ring, {
    maxTtlSeconds: 86_400,
    routePrefix: '/download/',
  })
  const token = issueToken({ user: 'bench-user', groups: ['staff', 'bench'], ttl: '1d' })
  if (!link.ok || !token.ok) throw new Error('bench credentials')
  const store = new RedisCredentialStore({
    ...singleRedis(redisUrl),
    connectTimeoutMs: 2000,
    commandTimeoutMs: 2000,
  })
  await store.connect()
  try {
    await store.putToken(token.value.record)
  } finally {
    await store.close()
  }
  return { query: `?gwl=${link.value.token}`, token: token.value.token }
}

export function staticServer(port: number, filesRoot: string): string {
  return `    server {
        listen 127.0.0.1:${port};
        # The same file cache as the download template's internal location, so the baseline is
        # not handicapped by an open per request that the gateway's setup does not pay.
        location /static/ {
            alias ${filesRoot}/;
            sendfile on;
            tcp_nopush on;
            open_file_cache max=1000 inactive=20s;
            open_file_cache_valid 1s;
        }
    }`
}
