// Guessing at share links and access tokens. Only values that fail verification are counted (a
// link whose signature does not check out, a token nobody issued or whose secret is wrong): a
// genuine link or token never touches the counters, so clients using valid ones at any rate pay
// nothing and are never slowed by someone else's guesses.
//
// Per client network: once a network is over its limit, every link or token it sends is refused
// with 429 before it is verified, until the window ends. That refusal is decided from this
// process's memory, so a blocked guesser costs no Redis round trip; another gateway learns of the
// block at the first failure it counts itself, which is answered 429 already (the count is
// shared), so the shared limit holds exactly for guesses.
//
// Per token id (the id is public, in logs): wrong secrets for one id past the limit are answered
// 429, but the id is never blocked before verification, or anyone could lock a token's owner out
// by guessing at its id. The secret's 256 random bits are what make guessing it hopeless; this
// count makes an attack on one token loud (429s and decision lines naming the id).
import type { AttemptCounters } from './attempt-counters.js'
import { keys } from './keys.js'
import { type CredentialLimits, retryAfterSeconds, type Throttled } from './limits.js'

/** Blocked networks remembered by one process; past it, blocks are only learnt from the counts. */
const MAX_BLOCKED = 100_000

export class CredentialThrottle {
  readonly #counters: AttemptCounters
  readonly #limits: CredentialLimits
  readonly #now: () => number
  /** network -> when its block ends (ms since the epoch). */
  readonly #blocked = new Map<string, number>()

  constructor(counters: AttemptCounters, limits: CredentialLimits, now: () => number = Date.now) {
    this.#counters = counters
    this.#limits = limits
    this.#now = now
  }

  /** Whether `network` is blocked now; no I/O. */
  blocked(network: string): Throttled | null {
    if (this.#blocked.size === 0) return null
    const until = this.#blocked.get(network)
    if (until === undefined) return null
    const left = until - this.#now()
    if (left > 0) return { limit: 'address', retryAfterSeconds: retryAfterSeconds(left) }
    this.#blocked.delete(network)
    return null
  }

  /**
   * Counts a value that failed verification. Resolves to the throttle it ran into, or null; rejects
   * when the counters cannot answer.
   */
  async failed(network: string, tokenId: string | null): Promise<Throttled | null> {
    const { windowMs, perAddress, perToken } = this.#limits
    const [address, token] = await Promise.all([
      this.#counters.hit(keys.credentialAddress(network), windowMs),
      tokenId === null ? undefined : this.#counters.hit(keys.credentialToken(tokenId), windowMs),
    ])
    if (address.count > perAddress) {
      this.#block(network, address.resetInMs)
      return { limit: 'address', retryAfterSeconds: retryAfterSeconds(address.resetInMs) }
    }
    if (token !== undefined && token.count > perToken)
      return { limit: 'token', retryAfterSeconds: retryAfterSeconds(token.resetInMs) }
    return null
  }

  #block(network: string, forMs: number): void {
    if (this.#blocked.size >= MAX_BLOCKED) {
      const now = this.#now()
      for (const [n, until] of this.#blocked) if (until <= now) this.#blocked.delete(n)
      if (this.#blocked.size >= MAX_BLOCKED) return
    }
    this.#blocked.set(network, this.#now() + forMs)
  }
}
