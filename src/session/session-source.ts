// What the decision needs to know of a request's session, whatever wrote it: who is asking, or why
// nobody is. Every session format the gateway reads (connect-style signed cookies over a store, and
// later PHP, Flask, Django, Rails, a callback to the main app) is one SessionSource, and every
// source passes the same contract suite (test/contract/session-source.ts).
//
// Two steps around the one read a download may make, so that a source which needs no I/O (a
// signed or encrypted cookie that carries the session itself) answers synchronously, and one that
// keeps sessions in memory can answer by callback without a promise (the route's fast path).
import type { GatewayErrorClass } from '../errors.js'
import type { Identity } from './session-identity.js'

/** Nobody, and why: the 401 an anonymous refusal gets, and what the decision line says of it. */
export interface NoIdentity {
  readonly ok: false
  /** One of the GW_ERR_* 401 classes of src/errors.ts. */
  readonly reason: GatewayErrorClass
  /** Short, stable, never a secret: `bad-signature`, `expired`, `php-object` ... */
  readonly why?: string
}

export type IdentityResult = { readonly ok: true; readonly identity: Identity } | NoIdentity

/** A read the source must make before it can answer; opaque to everyone but the source. */
export interface PendingRead {
  readonly pendingRead: true
}

export interface SessionSource {
  /** Names the source in logs: `connect`, `php`, `flask` ... */
  readonly name: string
  /**
   * The request's Cookie header in; the answer when no I/O is needed, or the read to make.
   * Throws only on a bug.
   */
  identify(cookieHeader: string | undefined): IdentityResult | PendingRead
  /** Makes the read. Rejects with StoreUnavailableError when the backing store cannot answer. */
  read(pending: PendingRead): Promise<IdentityResult>
  /**
   * Optional, for sources that keep sessions in memory: when this read may be answered from
   * there, returns true and calls `answer` once, later (undefined: call read() after all).
   * False: call read(). `answer` must not throw.
   */
  readCached?(pending: PendingRead, answer: (result: IdentityResult | undefined) => void): boolean
  /**
   * Optional: read() by callback, for sources whose store can answer that way (the download path
   * then needs no promise of its own). True: `answer` is called exactly once, later, with the
   * result, StoreUnavailableError (fail closed) or another Error (a bug). False: call read().
   * `answer` must not throw.
   */
  readByCallback?(pending: PendingRead, answer: (result: IdentityResult | Error) => void): boolean
  /** Resolves when the source can answer, rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>
  close(): Promise<void>
}

export function isPendingRead(x: IdentityResult | PendingRead): x is PendingRead {
  return (x as PendingRead).pendingRead === true
}
