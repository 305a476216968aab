// The session source the config names, built from its settings. One case per source: adding a
// framework is one case here, its enum value and block in config/schema.ts, and its module.
import type { GatewayConfig } from '../../config/gateway-config.js'
import type { SessionSource } from '../session-source.js'
import type { SessionStore } from '../session-store.js'
import { SessionCookieVerifier } from '../signed-cookie.js'
import { CallbackSessionSource } from './callback.js'
import { ConnectSessionSource } from './connect.js'
import { createDjangoSource } from './django.js'
import { createFlaskSource } from './flask.js'
import { createRailsSource } from './rails.js'

export interface SourceDeps {
  /** The store server.ts created from `session.store` (memory or Redis). */
  readonly store: SessionStore
}

export function createSessionSource(session: GatewayConfig['session'], deps: SourceDeps): SessionSource {
  switch (session.source) {
    case 'connect':
      return new ConnectSessionSource({
        cookieName: session.cookieName,
        verifier: new SessionCookieVerifier(session.secrets, session.cookiePrefix),
        store: deps.store,
        userIdField: session.userIdField,
        groupsField: session.groupsField,
      })
    case 'callback': {
      const c = session.callback
      if (c === undefined) throw new Error('session.source callback without its session.callback settings')
      return new CallbackSessionSource({
        url: new URL(c.url),
        cookieNames: c.cookieNames,
        timeoutMs: c.timeoutMs,
        cacheTtlMs: c.cacheTtlMs,
        cacheMaxEntries: c.cacheMaxEntries,
        userField: c.userField,
        groupsField: c.groupsField,
        ...(c.token === undefined ? {} : { token: { header: c.tokenHeader, value: c.token } }),
      })
    }
    case 'flask':
      return createFlaskSource(session.flask)
    case 'rails':
      return createRailsSource(session.rails)
    case 'django':
      return createDjangoSource(session.django)
  }
}
