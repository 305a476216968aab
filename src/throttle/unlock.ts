// Lifting a throttle by hand, before its window ends: a user locked out after someone guessed at
// their account, or an office whose shared address ran into the limit. Only the shared counts are
// dropped. A gateway that has already refused a network's link and token values keeps refusing
// them from its own memory until that window ends (credential-throttle.ts: one minute by default);
// logins have no such memory and are let through at once.
import { isIP } from 'node:net'
import type { AttemptCounters } from './attempt-counters.js'
import { clientNetwork } from './client-network.js'
import { accountKeyName, keys } from './keys.js'

export interface UnlockTarget {
  /** The account name as typed at the login. */
  readonly account?: string
  /** A client address; its whole network (an IPv6 /64) is lifted. */
  readonly address?: string
}

export type UnlockKeys =
  | { readonly ok: true; readonly keys: readonly string[]; readonly network?: string }
  | { readonly ok: false; readonly message: string }

/** The counters' keys that hold `target` back. */
export function unlockKeys(target: UnlockTarget): UnlockKeys {
  const { account, address } = target
  if (account === undefined && address === undefined)
    return { ok: false, message: 'name an account or an address' }
  if (address !== undefined && isIP(address) === 0)
    return { ok: false, message: `'${address}' is not an IP address` }
  const network = address === undefined ? undefined : clientNetwork(address)
  const name = account === undefined ? undefined : accountKeyName(account)
  const dropped: string[] = []
  if (name !== undefined) dropped.push(keys.loginAccount(name))
  if (network !== undefined) dropped.push(keys.loginAddress(network), keys.credentialAddress(network))
  // The account's own budget on that network, which counts once the account is over its limit.
  if (name !== undefined && network !== undefined) dropped.push(keys.loginPair(name, network))
  return { ok: true, keys: dropped, ...(network === undefined ? {} : { network }) }
}

/** Drops what holds `target` back; resolves to how many counts were there. */
export async function unlock(
  counters: AttemptCounters,
  target: UnlockTarget,
): Promise<{ ok: true; cleared: number; network?: string } | { ok: false; message: string }> {
  const found = unlockKeys(target)
  if (!found.ok) return found
  const cleared = await counters.forget(found.keys)
  return { ok: true, cleared, ...(found.network === undefined ? {} : { network: found.network }) }
}
