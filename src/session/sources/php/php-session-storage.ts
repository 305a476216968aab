// Where PHP keeps a session's bytes: one read per download, by an id already checked against PHP's
// id shape (php-session-id.ts). Each handler answers the session's bytes or why there are none;
// when it cannot say, it rejects with StoreUnavailableError so that the download fails closed.
/** The bytes, or why there are none; 'too-large': more than the decoder would read. */
export type PhpStoredSession = Uint8Array | 'unknown' | 'expired' | 'too-large'

export interface PhpSessionStorage {
  /** `checkedId` has PHP's id shape: nothing else may reach a file name or a key. */
  read(checkedId: string): Promise<PhpStoredSession>
  ping(): Promise<void>
  close(): Promise<void>
}
