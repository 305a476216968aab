// The counters' keys, in one place: the throttles count under them and an operator's unlock drops
// them, so the two can never disagree on a name.
import { createHash } from 'node:crypto'

/**
 * The name an account is counted under. Hashed: a key never carries the name someone typed (it may
 * be a password typed in the wrong field), and any name makes a well-formed key.
 */
export function accountKeyName(account: string): string {
  return createHash('sha256').update(account).digest('base64url').slice(0, 22)
}

export const keys = {
  /** Failed logins from one client network. */
  loginAddress: (network: string) => `login:addr:${network}`,
  /** Failed logins for one account, from anywhere. */
  loginAccount: (name: string) => `login:acct:${name}`,
  /** Failed logins for one account from one network. */
  loginPair: (name: string, network: string) => `login:pair:${name}:${network}`,
  /** A network the account has logged in from. */
  loginKnown: (name: string, network: string) => `login:known:${name}:${network}`,
  /** Link and token values from one network that did not verify. */
  credentialAddress: (network: string) => `cred:addr:${network}`,
  /** Wrong secrets for one token id. */
  credentialToken: (tokenId: string) => `cred:token:${tokenId}`,
} as const
