// What links and tokens need kept between requests: revoked link ids, link download counts, and
// token records (hashes only). One interface, an in-process store for the embedded default and a
// Redis one shared by every gateway, so revocation and counts hold across all of them.
import type { TokenRecord } from './tokens/access-token.js'

/** `ok`: this download is admitted (and counted when the link has a limit). */
export type LinkAdmission = 'ok' | 'revoked' | 'used-up'

export interface CredentialStore {
  /**
   * Atomically: refuses a revoked link, else counts one download against `maxDownloads` and
   * refuses past it. Exact under any concurrency. `expiresAt` (unix s) bounds what is kept.
   */
  admitLink(id: string, maxDownloads: number | undefined, expiresAt: number): Promise<LinkAdmission>
  /**
   * admitLink() for the download path, without a promise: `answer` is called exactly once, with
   * the admission or CredentialStoreUnavailableError (maybe before this returns). It must not throw.
   */
  admitLinkByCallback(
    id: string,
    maxDownloads: number | undefined,
    expiresAt: number,
    answer: (admission: LinkAdmission | CredentialStoreUnavailableError) => void,
  ): void
  /** Revokes from the very next request on; remembered until `untilSeconds` (unix s). */
  revokeLink(id: string, untilSeconds: number): Promise<void>
  putToken(record: TokenRecord): Promise<void>
  /** The record may be shared with other requests and is frozen: callers must not change it. */
  getToken(id: string): Promise<TokenRecord | null>
  /** getToken() for the download path, by callback, on the terms of admitLinkByCallback(). */
  getTokenByCallback(
    id: string,
    answer: (record: TokenRecord | null | CredentialStoreUnavailableError) => void,
  ): void
  /** False when there is no such token. */
  revokeToken(id: string): Promise<boolean>
  close(): Promise<void>
}

/** The store could not answer: the caller refuses (fail closed), as for sessions. */
export class CredentialStoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`credential store unavailable: ${(cause as Error)?.message ?? String(cause)}`, { cause })
    this.name = 'CredentialStoreUnavailableError'
  }
}

/** Token records stay this long past their expiry, so a late use is told `expired`, not `invalid`. */
export const TOKEN_KEEP_AFTER_EXPIRY_S = 7 * 86_400
