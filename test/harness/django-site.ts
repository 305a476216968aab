// The Django test site (test/fixtures/apps/django-app.py) with a server-side session backend:
// the real Django and django.contrib.auth on a throwaway PostgreSQL database, and for the cache
// backends django-redis on a real Redis. Logs users in and changes them the way an app would.
import { freePort } from './ports.js'
import type { PostgresServer } from './postgres.js'
import { sleep, spawnManaged } from './process.js'
import type { RedisServer } from './redis.js'

export type DjangoServerEngine = 'db' | 'cache' | 'cached_db'

export interface DjangoSite {
  readonly baseUrl: string
  readonly databaseName: string
  /** Logs `user` in (made if needed, with exactly these groups): the `sessionid=...` pair and the pk. */
  login(user: string, groups: readonly string[], expireS?: number): Promise<{ cookie: string; pk: string }>
  /** A session without a user: its `sessionid=...` pair. */
  anonymous(): Promise<string>
  /** Calls a page of the site (logout, deactivate, ungroup, password) with a cookie or none. */
  call(path: string, cookie?: string): Promise<Response>
  stop(): Promise<void>
}

let sites = 0

export async function startDjangoSite(o: {
  engine: DjangoServerEngine
  secret: string
  postgres: PostgresServer
  redis?: RedisServer
}): Promise<DjangoSite> {
  const databaseName = `django_${process.pid}_${++sites}`
  await o.postgres.sql(`CREATE DATABASE ${databaseName}`)
  const port = await freePort()
  // spawnManaged hands the test process's environment on: the settings reach the app through it.
  Object.assign(process.env, {
    DJANGO_SECRET_KEY: o.secret,
    DJANGO_SESSION_ENGINE: o.engine,
    DJANGO_DB_HOST: '127.0.0.1',
    DJANGO_DB_PORT: String(o.postgres.port),
    DJANGO_DB_NAME: databaseName,
    DJANGO_DB_USER: o.postgres.user,
    DJANGO_DB_PASSWORD: o.postgres.password,
    DJANGO_REDIS_URL: o.redis?.url ?? '',
  })
  const app = spawnManaged('/usr/bin/python3', ['test/fixtures/apps/django-app.py', String(port)])
  const baseUrl = `http://127.0.0.1:${port}`
  const stop = () => app.stop('SIGTERM')
  const deadline = Date.now() + 60_000
  for (;;) {
    if (app.hasExited()) throw new Error(`the Django site exited: ${app.output()}`)
    const up = await fetch(`${baseUrl}/`).then(
      (r) => r.ok,
      () => false,
    )
    if (up) break
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`the Django site did not start: ${app.output()}`)
    }
    await sleep(100)
  }
  const call = (path: string, cookie?: string) =>
    fetch(`${baseUrl}${path}`, cookie ? { headers: { cookie } } : {}).then(async (r) => {
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`)
      return r
    })
  const sessionCookie = (r: Response): string => {
    const pair = r.headers
      .getSetCookie()
      .map((h) => h.split(';')[0] as string)
      .find((p) => p.startsWith('sessionid='))
    if (pair === undefined) throw new Error('Django set no sessionid cookie')
    return pair
  }
  return {
    baseUrl,
    databaseName,
    async login(user, groups, expireS) {
      const query = new URLSearchParams({ user, groups: groups.join(',') })
      if (expireS !== undefined) query.set('expire_s', String(expireS))
      const r = await call(`/login?${query}`)
      return { cookie: sessionCookie(r), pk: await r.text() }
    },
    async anonymous() {
      return sessionCookie(await call('/anonymous'))
    },
    call,
    stop,
  }
}
