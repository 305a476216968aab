// Brute force on the built-in login. Three counts of failed logins, all reserved before the
// password is checked (so a thousand concurrent guesses cannot all pass a check made before any
// of them failed) and given back when the login succeeds:
//
// - per client network: one address guessing at many accounts;
// - per account name: many addresses guessing at one account;
// - per account and network: the budget of a network the account is known to log in from.
//
// Locking an account for everyone would hand any attacker a way to keep its owner out. So once an
// account is over its limit, only networks it has logged in from before (within rememberMs) may
// still try, each within its own per-account budget; everyone else gets 429 until the window
// ends. A user on a network the account has never used waits like the attacker: that is the price
// of stopping a guesser who holds many addresses.
import type { AttemptCounters } from './attempt-counters.js'
import { accountKeyName, keys } from './keys.js'
import { type LoginLimits, retryAfterSeconds, type Throttled } from './limits.js'

export interface LoginAttempt {
  /** Null: the attempt may check its password. */
  readonly throttled: Throttled | null
  /** Gives back the reserved counts and trusts this network for the account. */
  succeeded(): Promise<void>
}

export class LoginThrottle {
  readonly #counters: AttemptCounters
  readonly #limits: LoginLimits

  constructor(counters: AttemptCounters, limits: LoginLimits) {
    this.#counters = counters
    this.#limits = limits
  }

  /** Counts the attempt as failed until it succeeds. Rejects when the counters cannot answer. */
  async begin(account: string, network: string): Promise<LoginAttempt> {
    const c = this.#counters
    const { windowMs, perAddress, perAccount, rememberMs } = this.#limits
    const name = accountKeyName(account)
    const k = {
      address: keys.loginAddress(network),
      account: keys.loginAccount(name),
      pair: keys.loginPair(name, network),
      known: keys.loginKnown(name, network),
    }
    const [address, acct, pair, known] = await Promise.all([
      c.hit(k.address, windowMs),
      c.hit(k.account, windowMs),
      c.hit(k.pair, windowMs),
      c.marked(k.known),
    ])
    let throttled: Throttled | null = null
    if (address.count > perAddress) {
      throttled = { limit: 'address', retryAfterSeconds: retryAfterSeconds(address.resetInMs) }
    } else if (acct.count > perAccount && !(known && pair.count <= perAccount)) {
      const resetInMs = known ? pair.resetInMs : acct.resetInMs
      throttled = { limit: 'account', retryAfterSeconds: retryAfterSeconds(resetInMs) }
    }
    return {
      throttled,
      succeeded: async () => {
        await Promise.all([
          c.refund(k.address),
          c.refund(k.account),
          c.refund(k.pair),
          c.mark(k.known, rememberMs),
        ])
      },
    }
  }
}
