// The built-in login (off unless configured): POST /login checks a users file and writes a session
// through @fastify/session, in the same format and store the download route reads, so it behaves
// exactly like a main app would. POST /logout deletes the session. The plugin is encapsulated: the
// session machinery runs on these two routes only, never on downloads, and only a successful login
// ever creates a session (saveUninitialized: false). GET /login, the CSRF check of form posts and
// where a login goes next are in login-form.ts.
//
// The cookie's Secure flag follows the client's scheme, which request.protocol gives from
// X-Forwarded-Proto only when the peer is in server.trust_proxy (app.ts). With `secure: true` a
// login over plain HTTP is refused before anything is stored: @fastify/session would otherwise
// store the session and then quietly send no cookie (a 200 that logs nobody in and leaves an
// orphan session in the store). `secure: 'auto'` sets Secure exactly on https.
import fastifyCookie, { Signer } from '@fastify/cookie'
import fastifySession from '@fastify/session'
import type { FastifyInstance } from 'fastify'
import {
  GW_ERR_LOGIN_BAD_REQUEST,
  GW_ERR_LOGIN_FAILED,
  GW_ERR_LOGIN_NEEDS_HTTPS,
  withFields,
} from '../../errors.js'
import { hashPassword, parsePasswordHash, verifyPassword } from '../../login/password-hash.js'
import type { LoginUser } from '../../login/users-file.js'
import { readPath, writePath } from '../../session/session-identity.js'
import type { SessionStore } from '../../session/session-store.js'
import { ttlSecondsFor } from '../../session/session-store.js'
import type { LoginThrottle } from '../../throttle/login-throttle.js'
import { recordDecision, startDecision } from '../decision-log.js'
import { refuse } from '../refuse.js'
import { admitLogin } from '../throttling.js'
import {
  afterLogin,
  csrfCheck,
  formAgain,
  type LoginFormOptions,
  registerLoginForm,
  wantsPage,
} from './login-form.js'

export interface LoginRoutesOptions {
  readonly users: ReadonlyMap<string, LoginUser>
  readonly store: SessionStore
  readonly secrets: readonly string[]
  /** Signs and verifies with the secrets of the moment (reloaded on SIGHUP); else `secrets`. */
  readonly signer?: { sign(value: string): string; unsign(signed: string): unknown }
  readonly cookieName: string
  readonly cookiePrefix: string
  readonly cookie: {
    secure: boolean | 'auto'
    sameSite: 'lax' | 'strict' | 'none'
    domain: string | undefined
    path: string
  }
  readonly maxAgeSeconds: number
  readonly userIdField: readonly string[]
  readonly groupsField: readonly string[]
  /** The form's return target: its field name and what it may be. */
  readonly browser: Pick<LoginFormOptions, 'returnParam' | 'returnRules'>
  /** Failed logins per address and account (http/throttling.ts); none: not limited. */
  readonly throttle?: LoginThrottle
}

// Verified against when the user name is unknown, so both failures take the same time.
const decoyHash = parsePasswordHash(await hashPassword('decoy password, never matches'))

export async function loginRoutes(app: FastifyInstance, o: LoginRoutesOptions): Promise<void> {
  // @fastify/session speaks callbacks; our stores speak promises.
  const callbackStore: fastifySession.SessionStore = {
    // A copy: the store may hand out a shared frozen object, and a session gets changed here.
    get: (id, cb) => void o.store.get(id).then((d) => cb(null, (d && structuredClone(d)) as never), cb),
    set: (id, session, cb) => {
      const data = JSON.parse(JSON.stringify(session)) as Record<string, unknown>
      void o.store.set(id, data, ttlSecondsFor(data, o.maxAgeSeconds)).then(() => cb(), cb)
    },
    destroy: (id, cb) => void o.store.destroy(id).then(() => cb(), cb),
  }
  // Cookie parsing for these routes only: the download route reads its one cookie itself
  // (session/cookie-header.ts) instead of parsing every cookie of every request.
  await app.register(fastifyCookie)
  await app.register(fastifySession, {
    secret: (o.signer as fastifySession.FastifySessionOptions['secret'] | undefined) ?? [...o.secrets],
    cookieName: o.cookieName,
    cookiePrefix: o.cookiePrefix,
    saveUninitialized: false,
    rolling: false,
    store: callbackStore,
    cookie: {
      path: o.cookie.path,
      httpOnly: true,
      secure: o.cookie.secure,
      sameSite: o.cookie.sameSite,
      ...(o.cookie.domain ? { domain: o.cookie.domain } : {}),
      maxAge: o.maxAgeSeconds * 1000,
    },
  })

  const form: LoginFormOptions = {
    ...o.browser,
    sign: o.signer ? o.signer.sign : (value) => new Signer([...o.secrets], 'sha256').sign(value),
    userIdField: o.userIdField,
  }
  registerLoginForm(app, form)

  app.post('/login', { preHandler: csrfCheck(form) }, async (request, reply) => {
    startDecision(request)
    // Before the credentials are looked at: over this connection no answer can log anyone in.
    if (o.cookie.secure === true && request.protocol !== 'https') {
      // A claim of https that was not believed: behind a TLS proxy, the proxy's address is
      // missing from server.trust_proxy.
      const claimed = String(request.headers['x-forwarded-proto'] ?? '')
        .split(',')
        .pop()
        ?.trim()
      const detail = claimed === 'https' ? 'untrusted-x-forwarded-proto' : 'plain-http'
      return refuse(request, reply, withFields(new GW_ERR_LOGIN_NEEDS_HTTPS(), { detail }))
    }
    const body = (request.body ?? {}) as Record<string, unknown>
    const { username, password } = body
    if (
      typeof username !== 'string' ||
      typeof password !== 'string' ||
      username.length > 256 ||
      password.length > 1024
    ) {
      return refuse(request, reply, new GW_ERR_LOGIN_BAD_REQUEST())
    }
    // Before the password is looked at: a throttled guess learns nothing, right or wrong.
    const admission = await admitLogin(request, o.throttle, username)
    if (admission.refusal) return refuse(request, reply, admission.refusal)
    const user = o.users.get(username)
    const matches = await verifyPassword(password, user?.hash ?? (decoyHash as NonNullable<typeof decoyHash>))
    if (!user || !matches) {
      const again = formAgain(request, body, form, 'Wrong user name or password.')
      return refuse(request, reply, withFields(new GW_ERR_LOGIN_FAILED(), { user: username }), again)
    }
    await admission.succeeded()
    // A fresh id on every login: a session id planted before login is worth nothing after it.
    await request.session.regenerate()
    const session = request.session as unknown as Record<string, unknown>
    writePath(session, o.userIdField, user.id)
    writePath(session, o.groupsField, [...user.groups])
    recordDecision(request, { code: 'GW_LOGIN', user: user.id })
    const next = afterLogin(request, body, form)
    if (next !== undefined) return reply.code(303).header('location', next).send()
    return reply.code(200).send({ user: user.id, groups: user.groups })
  })

  app.post('/logout', { preHandler: csrfCheck(form) }, async (request, reply) => {
    startDecision(request)
    const user = readPath(request.session, o.userIdField)
    await request.session.destroy()
    // The attributes the cookie was set with, so every client replaces it; on plain HTTP 'auto'
    // falls back to lax, as @fastify/session does (SameSite=None needs Secure).
    const secure = o.cookie.secure === 'auto' ? request.protocol === 'https' : o.cookie.secure
    reply.clearCookie(o.cookieName, {
      path: o.cookie.path,
      httpOnly: true,
      secure,
      sameSite: o.cookie.secure === 'auto' && !secure ? 'lax' : o.cookie.sameSite,
      ...(o.cookie.domain ? { domain: o.cookie.domain } : {}),
    })
    recordDecision(request, { code: 'GW_LOGOUT', user: typeof user === 'string' ? user : null })
    // The log-out button of the login page: back to the form.
    if (wantsPage(request)) return reply.code(303).header('location', '/login').send()
    return reply.code(204).send()
  })
}
