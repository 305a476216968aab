// Where log lines go: a file descriptor, written asynchronously in large chunks, one write at a time.
//
// Why our own and not pino.destination (sonic-boom): every download pays for one decision line, and
// measured here sonic-boom's asynchronous path costs 3 to 4 us of CPU per 300-byte line, with or
// without minLength; gathering lines into one string and writing 16 KiB at a time costs about 0.4.
// Never blocking the event loop is the other half of the job: writes are asynchronous (a slow pipe
// or disk only lets the buffer grow), and past maxPendingBytes lines are dropped and counted rather
// than letting memory grow without bound. Lines are written whole and in order.
import { write as fsWrite, writeSync } from 'node:fs'

export interface LogDestinationOptions {
  /** Write as soon as this much is gathered. */
  readonly flushBytes?: number
  /** Write whatever is gathered at least this often. */
  readonly flushMs?: number
  /** Drop lines while this much is waiting for a slow destination. */
  readonly maxPendingBytes?: number
}

export class LogDestination {
  readonly #fd: number
  readonly #flushBytes: number
  readonly #flushMs: number
  readonly #maxPending: number
  #pending = ''
  #inFlight: Buffer | undefined
  #timer: NodeJS.Timeout | undefined
  #dropped = 0
  #afterWrite: (() => void)[] = []

  constructor(fd: number, options: LogDestinationOptions = {}) {
    this.#fd = fd
    this.#flushBytes = options.flushBytes ?? 16 * 1024
    this.#flushMs = options.flushMs ?? 100
    this.#maxPending = options.maxPendingBytes ?? 16 * 1024 * 1024
  }

  /** Lines dropped because the destination could not keep up. */
  get dropped(): number {
    return this.#dropped
  }

  write(line: string): boolean {
    if (this.#pending.length > this.#maxPending) {
      this.#dropped++
      return false
    }
    this.#pending += line
    if (this.#inFlight) return true
    if (this.#pending.length >= this.#flushBytes) this.#writeNext()
    else if (!this.#timer) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        if (!this.#inFlight) this.#writeNext()
      }, this.#flushMs)
      this.#timer.unref()
    }
    return true
  }

  /**
   * Writes what is gathered now, synchronously. A chunk already handed to an asynchronous write is
   * left to it (it cannot be recalled, and writing it again could double it): prefer flush(cb),
   * which waits for that write first.
   */
  flushSync(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    const rest = Buffer.from(this.#pending)
    this.#pending = ''
    let offset = 0
    while (offset < rest.length) {
      try {
        offset += writeSync(this.#fd, rest, offset)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return
      }
    }
  }

  /** Everything written, in order, then cb; pino calls this from logger.flush(cb). */
  flush(cb?: (err?: Error) => void): void {
    if (!this.#inFlight) {
      this.flushSync()
      cb?.()
      return
    }
    this.#afterWrite.push(() => this.flush(cb))
  }

  #writeNext(): void {
    if (this.#pending.length === 0) return
    this.#inFlight = Buffer.from(this.#pending)
    this.#pending = ''
    this.#writeFrom(0)
  }

  #writeFrom(offset: number): void {
    const chunk = this.#inFlight
    if (!chunk) return
    fsWrite(this.#fd, chunk, offset, chunk.length - offset, null, (err, written) => {
      if (err) {
        // A non-blocking pipe that is full: try again shortly. Anything else: these lines are lost.
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.#writeFrom(offset), 10).unref()
          return
        }
        this.#dropped++
        this.#inFlight = undefined
      } else if (offset + written < chunk.length) {
        this.#writeFrom(offset + written)
        return
      } else {
        this.#inFlight = undefined
      }
      if (this.#afterWrite.length > 0) {
        const waiting = this.#afterWrite
        this.#afterWrite = []
        for (const next of waiting) next()
        return
      }
      if (this.#pending.length >= this.#flushBytes) this.#writeNext()
      else if (this.#pending.length > 0 && !this.#timer) {
        this.#timer = setTimeout(() => {
          this.#timer = undefined
          if (!this.#inFlight) this.#writeNext()
        }, this.#flushMs)
        this.#timer.unref()
      }
    })
  }
}
