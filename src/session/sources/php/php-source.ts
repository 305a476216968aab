// PHP's native sessions ($_SESSION): the cookie (PHPSESSID unless renamed) carries the bare session
// id, unsigned, and the session lives in the `files` handler's folder or in Redis (phpredis), in
// one of the serialize_handler formats. The id is checked against PHP's id shape before any I/O;
// the stored bytes are decoded by the safe decoder (formats/php-session.ts): no PHP object is ever
// instantiated, and with `objects: refuse` a session holding one is refused outright.
//
// Why a session is refused is in the decision line (`php: <why>`), never what it held.
import { GW_ERR_BAD_COOKIE, GW_ERR_SESSION_UNREADABLE } from '../../../errors.js'
import { readSentCookie } from '../../cookie-header.js'
import type { DecodeLimits } from '../../formats/format-result.js'
import { decodePhpSession, type PhpSerializeHandler } from '../../formats/php-session.js'
import type { IdentityResult, PendingRead, SessionSource } from '../../session-source.js'
import { EXPIRED, NO_COOKIE, NO_USER, noIdentity, UNKNOWN, unreadableBecause } from '../no-identity.js'
import { identityFromPhpSession } from './php-identity.js'
import { type PhpSessionIdShape, phpSessionIdChecker } from './php-session-id.js'
import type { PhpSessionStorage } from './php-session-storage.js'

export interface PhpSourceOptions {
  readonly cookieName: string
  readonly idShape: PhpSessionIdShape
  readonly storage: PhpSessionStorage
  readonly serializeHandler: PhpSerializeHandler
  readonly objects: 'inert' | 'refuse'
  readonly userIdKey: readonly string[]
  readonly groupsKey: readonly string[]
  readonly limits?: Partial<DecodeLimits>
}

interface PhpRead extends PendingRead {
  readonly sessionId: string
}

const BAD_ID = noIdentity(GW_ERR_BAD_COOKIE, 'php-bad-id')
const TOO_LARGE = noIdentity(GW_ERR_SESSION_UNREADABLE, 'too-large')

export class PhpSessionSource implements SessionSource {
  readonly name = 'php'
  readonly #o: PhpSourceOptions
  readonly #checkId: (sent: string) => string | undefined

  constructor(o: PhpSourceOptions) {
    this.#o = o
    this.#checkId = phpSessionIdChecker(o.idShape)
  }

  identify(cookieHeader: string | undefined): IdentityResult | PhpRead {
    const sent = readSentCookie(cookieHeader, this.#o.cookieName)
    if (sent === undefined || sent === '') return NO_COOKIE
    const sessionId = this.#checkId(sent)
    if (sessionId === undefined) return BAD_ID
    return { pendingRead: true, sessionId }
  }

  async read(pending: PendingRead): Promise<IdentityResult> {
    const stored = await this.#o.storage.read((pending as PhpRead).sessionId)
    if (stored === 'unknown') return UNKNOWN
    if (stored === 'expired') return EXPIRED
    if (stored === 'too-large') return TOO_LARGE
    const decoded = decodePhpSession(stored, this.#o.serializeHandler, {
      objects: this.#o.objects,
      ...this.#o.limits,
    })
    if (!decoded.ok) return unreadableBecause(decoded.reason)
    const identity = identityFromPhpSession(decoded.value, this.#o.userIdKey, this.#o.groupsKey)
    return identity === null ? NO_USER : { ok: true, identity }
  }

  ping(): Promise<void> {
    return this.#o.storage.ping()
  }

  close(): Promise<void> {
    return this.#o.storage.close()
  }
}
