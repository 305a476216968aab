// The session source the config names, built from its settings. One case per source: adding a
// framework is one case here, its enum value and block in config/schema.ts, and its module.
import type { GatewayConfig } from '../../config/gateway-config.js'
import { DEFAULT_DECODE_LIMITS } from '../formats/format-result.js'
import type { SessionSource } from '../session-source.js'
import type { SessionStore } from '../session-store.js'
import { SessionCookieVerifier } from '../signed-cookie.js'
import { CallbackSessionSource } from './callback.js'
import { ConnectSessionSource } from './connect.js'
import { createDjangoSessionSource } from './django.js'
import { createFlaskSource } from './flask.js'
import { PhpFilesStorage } from './php/php-files-storage.js'
import { PhpRedisStorage } from './php/php-redis-storage.js'
import { PhpSessionSource } from './php/php-source.js'
import { createRailsSource } from './rails.js'

export interface SourceDeps {
  /** The store server.ts created from `session.store` (memory or Redis). */
  readonly store: SessionStore
  /** Connection trouble of a store the source opens itself (never session data). */
  readonly onStoreError?: (err: Error) => void
  /** The cookie verifier to share (its secrets are reloaded on SIGHUP); else one of its own. */
  readonly verifier?: SessionCookieVerifier
}

export function createSessionSource(session: GatewayConfig['session'], deps: SourceDeps): SessionSource {
  switch (session.source) {
    case 'connect':
      return new ConnectSessionSource({
        cookieName: session.cookieName,
        verifier: deps.verifier ?? new SessionCookieVerifier(session.secrets, session.cookiePrefix),
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
      return createDjangoSessionSource(session.django, {
        redis: session.redis,
        ...(deps.onStoreError ? { onStoreError: deps.onStoreError } : {}),
      })
    case 'php': {
      const php = session.php
      const maxBytes = DEFAULT_DECODE_LIMITS.maxBytes
      const storage =
        php.saveHandler === 'files'
          ? new PhpFilesStorage({
              // load-config.ts refuses the files handler without a save_path.
              savePath: php.savePath as string,
              gcMaxLifetimeSeconds: php.gcMaxLifetimeSeconds,
              readTimeoutMs: php.readTimeoutMs,
              maxBytes,
            })
          : new PhpRedisStorage({
              ...session.redis,
              keyPrefix: php.keyPrefix,
              maxBytes,
              ...(deps.onStoreError ? { onError: deps.onStoreError } : {}),
            })
      return new PhpSessionSource({
        cookieName: php.cookieName,
        idShape: { sidLength: php.sidLength, sidBitsPerCharacter: php.sidBitsPerCharacter },
        storage,
        serializeHandler: php.serializeHandler,
        objects: php.objects,
        userIdKey: php.userIdKey,
        groupsKey: php.groupsKey,
      })
    }
  }
}
