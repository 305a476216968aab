// The session contract against PHP's native sessions, written by real PHP (the php CLI running
// test/fixtures/apps/php/session-cli.php): the files handler in a temp folder, and phpredis in a
// real redis-server, with each serialize_handler PHP offers.
import { mkdir, mkdtemp, rename, rm, utimes, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { singleRedis } from '../../src/redis/connection.js'
import { PhpFilesStorage } from '../../src/session/sources/php/php-files-storage.js'
import { PhpRedisStorage } from '../../src/session/sources/php/php-redis-storage.js'
import type { PhpSessionStorage } from '../../src/session/sources/php/php-session-storage.js'
import { PhpSessionSource } from '../../src/session/sources/php/php-source.js'
import { type PhpSessionIni, phpSessionCli } from '../harness/php.js'
import { startRedis } from '../harness/redis.js'
import { runSessionSourceContract, type SourceUnderTest } from './session-source.js'

const GC_MAXLIFETIME = 1440
const HANDLERS = ['php', 'php_serialize', 'php_binary'] as const

function phpUnderTest(
  ini: PhpSessionIni,
  storage: PhpSessionStorage,
  extra: Pick<SourceUnderTest, 'loginExpired' | 'breakStore'>,
): SourceUnderTest {
  const source = new PhpSessionSource({
    cookieName: 'PHPSESSID',
    idShape: { sidLength: 32, sidBitsPerCharacter: 4 },
    storage,
    serializeHandler: ini.serializeHandler ?? 'php',
    objects: 'inert',
    userIdKey: ['user_id'],
    groupsKey: ['roles'],
  })
  return {
    source,
    cookieName: 'PHPSESSID',
    login: (user, groups) => phpSessionCli(ini, ['login', user ?? '-', groups.join(',')]),
    logout: async (id) => {
      t.equal(await phpSessionCli(ini, ['logout', id]), 'ok')
    },
    ...extra,
  }
}

for (const serializeHandler of HANDLERS) {
  t.test(`php source, files handler, serialize_handler ${serializeHandler}`, async (t) => {
    const base = await mkdtemp(join(tmpdir(), 'gw-php-'))
    const savePath = join(base, 'sessions')
    await mkdir(savePath)
    t.teardown(() => rm(base, { recursive: true, force: true }))
    const ini: PhpSessionIni = { saveHandler: 'files', savePath, serializeHandler }
    const storage = new PhpFilesStorage({
      savePath,
      gcMaxLifetimeSeconds: GC_MAXLIFETIME,
      maxBytes: 1 << 20,
      readTimeoutMs: 2000,
    })
    runSessionSourceContract(t, async () =>
      phpUnderTest(ini, storage, {
        // PHP's own rule: a session idle for longer than gc_maxlifetime is garbage.
        loginExpired: async (user) => {
          const id = await phpSessionCli(ini, ['login', user, ''])
          const idle = new Date(Date.now() - (GC_MAXLIFETIME + 5) * 1000)
          await utimes(join(savePath, `sess_${id}`), idle, idle)
          return id
        },
        // The folder gone and a plain file in its place: every read is an I/O error, not "no file".
        breakStore: async () => {
          await rename(savePath, `${savePath}.away`)
          await writeFile(savePath, '')
          return async () => {
            await rm(savePath)
            await rename(`${savePath}.away`, savePath)
          }
        },
      }),
    )
  })
}

for (const serializeHandler of HANDLERS) {
  t.test(`php source, phpredis, serialize_handler ${serializeHandler}`, async (t) => {
    const redis = await startRedis()
    const storage = new PhpRedisStorage({
      ...singleRedis(redis.url),
      keyPrefix: 'PHPREDIS_SESSION:',
      connectTimeoutMs: 500,
      commandTimeoutMs: 300,
      maxBytes: 1 << 20,
      onError: () => {},
    })
    await storage.connected()
    t.teardown(async () => {
      redis.resume()
      await storage.close()
      await redis.stop()
    })
    const ini: PhpSessionIni = {
      saveHandler: 'redis',
      savePath: `tcp://127.0.0.1:${redis.port}`,
      serializeHandler,
    }
    runSessionSourceContract(t, async () =>
      phpUnderTest(ini, storage, {
        // phpredis writes with SETEX gc_maxlifetime: Redis forgets the session by itself.
        loginExpired: async (user) => {
          const id = await phpSessionCli({ ...ini, gcMaxLifetime: 1 }, ['login', user, ''])
          await new Promise((resolve) => setTimeout(resolve, 1500))
          return id
        },
        breakStore: async () => {
          redis.pause()
          return async () => redis.resume()
        },
      }),
    )
  })
}
