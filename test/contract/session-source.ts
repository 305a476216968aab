// The contract every session source passes: the same questions, the same answers, whatever format
// and store the session lives in. A new source (PHP, Flask, Django, Rails, callback, another store)
// is done when a `<name>.contract.test.ts` beside this file runs this suite against it with the
// real framework or store writing the sessions.
import fc from 'fast-check'
import type { Test } from 'tap'
import {
  GW_ERR_BAD_COOKIE,
  GW_ERR_NO_SESSION,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
  GW_ERR_SESSION_UNKNOWN,
} from '../../src/errors.js'
import { type IdentityResult, isPendingRead, type SessionSource } from '../../src/session/session-source.js'
import { StoreUnavailableError } from '../../src/session/session-store.js'

/** What a source's test gives the suite: the source, and the app's side of its sessions. */
export interface SourceUnderTest {
  readonly source: SessionSource
  readonly cookieName: string
  /**
   * Writes a session as the main app would and returns the cookie's value as a browser sends
   * it. `user` null: a session without a user (an anonymous session of the app).
   */
  login(user: string | null, groups: readonly string[]): Promise<string>
  /** Writes a session that has already expired by the app's own rules, or undefined if it cannot. */
  loginExpired?(user: string): Promise<string>
  /** Ends the session the cookie names, as the app's logout does. */
  logout(cookieValue: string): Promise<void>
  /** Makes the store unreachable; resolves to a function that brings it back. Absent: no store. */
  breakStore?(): Promise<() => Promise<void>>
}

const ANONYMOUS_401S = new Set<unknown>([
  GW_ERR_NO_SESSION,
  GW_ERR_BAD_COOKIE,
  GW_ERR_SESSION_UNKNOWN,
  GW_ERR_SESSION_EXPIRED,
  GW_ERR_SESSION_NO_USER,
])

/** Who the source says a Cookie header belongs to, by its fast path when it offers one. */
export async function identify(
  source: SessionSource,
  cookieHeader: string | undefined,
): Promise<IdentityResult> {
  const first = source.identify(cookieHeader)
  if (!isPendingRead(first)) return first
  if (source.readCached) {
    const cached = await new Promise<IdentityResult | undefined>((resolve) => {
      if (!source.readCached?.(first, resolve)) resolve(undefined)
    })
    if (cached !== undefined) return cached
  }
  // Then as the download route asks: by callback where the source offers it, else read().
  if (source.readByCallback) {
    let returned = false
    let early = false
    const answered = await new Promise<IdentityResult | Error | undefined>((resolve) => {
      const taken = source.readByCallback?.(first, (result) => {
        early = !returned
        resolve(result)
      })
      returned = true
      if (!taken) resolve(undefined)
    })
    // The route returns to Fastify before the answer: an answer from inside the call breaks that.
    if (early) throw new Error('readByCallback answered synchronously')
    if (answered instanceof Error) throw answered
    if (answered !== undefined) return answered
  }
  return source.read(first)
}

export function runSessionSourceContract(t: Test, make: () => Promise<SourceUnderTest>): void {
  let s: SourceUnderTest
  t.before(async () => {
    s = await make()
  })
  const header = (value: string) => `other=1; ${s.cookieName}=${value}; last=2`

  t.test('no session cookie: GW_ERR_NO_SESSION', async (t) => {
    for (const cookie of [undefined, '', 'other=1', `${s.cookieName}=`]) {
      const r = await identify(s.source, cookie)
      t.equal(r.ok, false, `${JSON.stringify(cookie)} is nobody`)
      if (!r.ok) t.equal(r.reason, GW_ERR_NO_SESSION, `${JSON.stringify(cookie)}: no session`)
    }
  })

  t.test('a logged-in user: their id and groups, read the same way twice', async (t) => {
    const cookie = await s.login('alice', ['finance', 'staff'])
    for (const round of [1, 2]) {
      const r = await identify(s.source, header(cookie))
      t.ok(r.ok, `round ${round}: known`)
      if (r.ok) {
        t.equal(r.identity.user, 'alice')
        t.same([...r.identity.groups].sort(), ['finance', 'staff'])
      }
    }
  })

  t.test('two users, two cookies: never each other', async (t) => {
    const [a, b] = [await s.login('alice', ['finance']), await s.login('bob', [])]
    const [ra, rb] = [await identify(s.source, header(a)), await identify(s.source, header(b))]
    t.equal(ra.ok && ra.identity.user, 'alice')
    t.equal(rb.ok && rb.identity.user, 'bob')
    t.same(rb.ok && rb.identity.groups, [])
  })

  t.test('a session without a user: GW_ERR_SESSION_NO_USER', async (t) => {
    const r = await identify(s.source, header(await s.login(null, [])))
    t.equal(r.ok, false)
    if (!r.ok) t.equal(r.reason, GW_ERR_SESSION_NO_USER)
  })

  t.test('after logout the very next read is anonymous', async (t) => {
    const cookie = await s.login('alice', ['finance'])
    t.ok((await identify(s.source, header(cookie))).ok, 'known before')
    await s.logout(cookie)
    const r = await identify(s.source, header(cookie))
    t.equal(r.ok, false, 'nobody after')
    if (!r.ok) t.ok(ANONYMOUS_401S.has(r.reason), 'one of the 401s')
  })

  t.test('an expired session is anonymous', async (t) => {
    const cookie = await s.loginExpired?.('alice')
    if (cookie === undefined) return t.pass('this source cannot write an expired session')
    const r = await identify(s.source, header(cookie))
    t.equal(r.ok, false)
    if (!r.ok)
      t.ok(r.reason === GW_ERR_SESSION_EXPIRED || r.reason === GW_ERR_SESSION_UNKNOWN, 'expired or unknown')
  })

  t.test('every one-character change of a valid cookie is refused, never someone', async (t) => {
    const cookie = await s.login('alice', ['finance'])
    const positions = new Set([0, 1, Math.floor(cookie.length / 2), cookie.length - 2, cookie.length - 1])
    for (const i of positions) {
      const ch = cookie[i] === 'A' ? 'B' : 'A'
      const changed = cookie.slice(0, i) + ch + cookie.slice(i + 1)
      const r = await identify(s.source, header(changed))
      t.equal(r.ok, false, `changed at ${i}`)
      if (!r.ok) t.ok(ANONYMOUS_401S.has(r.reason), `changed at ${i}: a 401`)
    }
    for (const cut of [1, Math.floor(cookie.length / 2)]) {
      const r = await identify(s.source, header(cookie.slice(0, -cut)))
      t.equal(r.ok, false, `cut by ${cut}`)
    }
  })

  t.test('hostile cookie values: a 401, never a throw, never someone', async (t) => {
    let runs = 0
    await fc.assert(
      fc.asyncProperty(fc.string({ maxLength: 600, unit: 'binary' }), async (value) => {
        runs++
        const r = await identify(s.source, header(encodeURIComponent(value)))
        return !r.ok && ANONYMOUS_401S.has(r.reason)
      }),
      { numRuns: 300 },
    )
    t.equal(runs, 300)
  })

  t.test('an unreachable store: reads reject with StoreUnavailableError, then recover', async (t) => {
    if (!s.breakStore) return t.pass('this source has no store')
    const cookie = await s.login('alice', ['finance'])
    t.ok((await identify(s.source, header(cookie))).ok, 'known before')
    const restore = await s.breakStore()
    try {
      // A source that keeps sessions in memory may answer until it notices the outage (its
      // documented bound); it must say the same user meanwhile, and fail closed within 2 s.
      let failed: unknown
      const until = Date.now() + 2000
      while (failed === undefined && Date.now() < until) {
        const r = await identify(s.source, header(cookie)).catch((err: unknown) => {
          failed = err
          return undefined
        })
        if (r !== undefined) t.equal(r.ok && r.identity.user, 'alice', 'meanwhile, the same user or nothing')
      }
      t.type(failed, StoreUnavailableError, 'the read fails closed')
      await t.rejects(() => s.source.ping(), StoreUnavailableError, 'ping says so too')
    } finally {
      await restore()
    }
    let back = false
    for (let i = 0; i < 50 && !back; i++) {
      back = await identify(s.source, header(cookie)).then(
        (r) => r.ok,
        () => false,
      )
      if (!back) await new Promise((r) => setTimeout(r, 100))
    }
    t.ok(back, 'known again once the store is back')
  })
}
