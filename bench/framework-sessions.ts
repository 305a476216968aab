// The gateways that read a framework's own session cookie (Flask's signed cookie, Rails' encrypted
// cookie, Django's signed_cookies backend): no store, the cookie carries the session. Each gets the
// bench user's session as its framework would write it, signed or encrypted with a fresh secret
// by the writers the session tests check against the real frameworks' own cookies.
import { randomBytes } from 'node:crypto'
import { DJANGO_SIGNED_COOKIES_SALT } from '../src/session/formats/django-signing.js'
import {
  djangoSign,
  flaskSign,
  railsEncrypt,
  railsEnvelope,
} from '../test/fixtures/sessions/signed-writers.js'
import { gatewayYaml } from './gateway-setup.js'

export interface FrameworkGateway {
  /** The setup's name in the report. */
  readonly name: string
  readonly yaml: string
  /** The secret's environment variable and value. */
  readonly env: Readonly<Record<string, string>>
  /** `name=value` of the session cookie, to put among the browser's cookies. */
  readonly cookie: string
}

/** The bench user as the frameworks' login extensions record it, in the groups the ACL allows. */
const GROUPS = ['staff', 'bench']

/** The cookie gateway's config: gatewayYaml's files and rules, `source` and its block instead of Redis. */
function cookieSourceYaml(filesRoot: string, source: string): string {
  const yaml = gatewayYaml(filesRoot, 'redis://127.0.0.1:1', false).replace(
    /session:\n[\s\S]*?\nlogin:/,
    `session:\n  store: memory\n  source: ${source}\nlogin:`,
  )
  if (!yaml.includes(`source: ${source}`)) throw new Error('gatewayYaml changed: update cookieSourceYaml')
  return yaml
}

/** Flask's default session cookie (itsdangerous), with flask-login's `_user_id`. */
export function flaskGateway(filesRoot: string): FrameworkGateway {
  const secret = randomBytes(24).toString('hex')
  const session = JSON.stringify({
    _fresh: true,
    _id: randomBytes(32).toString('hex'),
    _user_id: 'bench-user',
    groups: GROUPS,
  })
  return {
    name: 'gateway-flask',
    yaml: cookieSourceYaml(filesRoot, 'flask'),
    env: { GATEWAY_FLASK_SECRET_KEYS: secret },
    cookie: `session=${flaskSign(session, secret, Math.floor(Date.now() / 1000))}`,
  }
}

/** Rails 7's encrypted cookie store (AES-256-GCM, SHA-256 key), a Devise login in it. */
export function railsGateway(filesRoot: string): FrameworkGateway {
  const secretKeyBase = randomBytes(64).toString('hex')
  const session = JSON.stringify({
    session_id: randomBytes(16).toString('hex'),
    'warden.user.user.key': [['bench-user'], randomBytes(11).toString('base64')],
    groups: GROUPS,
  })
  const value = railsEncrypt(railsEnvelope(session, 'cookie._app_session'), secretKeyBase, 'sha256')
  return {
    name: 'gateway-rails',
    yaml: cookieSourceYaml(filesRoot, 'rails'),
    env: { GATEWAY_RAILS_SECRET_KEY_BASE: secretKeyBase },
    cookie: `_app_session=${encodeURIComponent(value)}`,
  }
}

/** Django's signed_cookies backend (JSON serializer, SHA-256), a django.contrib.auth login in it. */
export function djangoGateway(filesRoot: string): FrameworkGateway {
  const secret = randomBytes(32).toString('base64url')
  const session = JSON.stringify({
    _auth_user_id: 'bench-user',
    _auth_user_backend: 'django.contrib.auth.backends.ModelBackend',
    _auth_user_hash: randomBytes(32).toString('hex'),
    groups: GROUPS,
  })
  return {
    name: 'gateway-django-signed',
    yaml: cookieSourceYaml(filesRoot, 'django'),
    env: { GATEWAY_DJANGO_SECRET_KEYS: secret },
    cookie: `sessionid=${djangoSign(session, secret, DJANGO_SIGNED_COOKIES_SALT, Math.floor(Date.now() / 1000))}`,
  }
}
