// The limits the config sets (`rate_limit`, docs/configuration.md): how many failures a window
// allows, per what.

export interface LoginLimits {
  readonly windowMs: number
  /** Failed logins from one client network, whatever the account. */
  readonly perAddress: number
  /** Failed logins for one account name, from anywhere; also per network once under attack. */
  readonly perAccount: number
  /** How long a network the account logged in from stays trusted while the account is locked. */
  readonly rememberMs: number
}

export interface CredentialLimits {
  readonly windowMs: number
  /** Link or token values that did not verify, from one client network. */
  readonly perAddress: number
  /** Wrong secrets for one token id, from anywhere. */
  readonly perToken: number
}

export interface RateLimits {
  readonly enabled: boolean
  readonly login: LoginLimits
  readonly credentials: CredentialLimits
}

/** What a throttled attempt is told: which limit, and in whole seconds when to come back. */
export interface Throttled {
  readonly limit: 'address' | 'account' | 'token'
  readonly retryAfterSeconds: number
}

export function retryAfterSeconds(resetInMs: number): number {
  return Math.max(1, Math.ceil(resetInMs / 1000))
}
