// The session contract against the callback source, asking a real HTTP app (test/harness/
// callback-app.ts) on a loopback port. The cache is off: the contract's "the very next read after
// logout is anonymous" is the ttl-0 promise; the cache's own bound is tested in
// test/unit/callback-source.test.ts. The app's outage is played twice: hung (no answer, the
// timeout must fire) and stopped (connection refused).
import t from 'tap'
import { CallbackSessionSource } from '../../src/session/sources/callback.js'
import { APP_COOKIE, type CallbackApp, startCallbackApp } from '../harness/callback-app.js'
import { runSessionSourceContract } from './session-source.js'

function sourceFor(app: CallbackApp): CallbackSessionSource {
  return new CallbackSessionSource({
    url: new URL(app.whoamiUrl),
    cookieNames: [APP_COOKIE],
    timeoutMs: 300,
    cacheTtlMs: 0,
    cacheMaxEntries: 100,
    userField: ['user'],
    groupsField: ['groups'],
  })
}

for (const outage of ['hung', 'stopped'] as const) {
  t.test(`callback source, the app ${outage} as its outage`, async (t) => {
    const app = await startCallbackApp()
    const source = sourceFor(app)
    t.teardown(async () => {
      await source.close()
      await app.close()
    })
    runSessionSourceContract(t, async () => ({
      source,
      cookieName: APP_COOKIE,
      login: async (user, groups) => app.login(user, groups),
      logout: async (cookie) => app.logout(cookie),
      breakStore: async () => {
        if (outage === 'hung') {
          const resume = app.hang()
          return async () => resume()
        }
        return app.stop()
      },
    }))
  })
}
