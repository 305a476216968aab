// Where log lines go: a file descriptor, written asynchronously in large chunks, one write at a time.
//
// Why our own and not pino.destination (sonic-boom): every download pays for one decision line, and
// measured here sonic-boom's asynchronous path costs 3 to 4 us of CPU per 300-byte line, with or
// without minLength. Lines are encoded straight into a few reused 64 KiB buffers and each full
// buffer is one write. Gathering them into one big string first and flattening it per write, as
// this file once did, cost the gateway 61 instead of 50 us of CPU per download (two gateways loaded
// side by side on one core, issue 5), though a microbenchmark of that destination alone showed
// 0.15 us a line: measure changes here inside the server.
// Never blocking the event loop is the other half of the job: writes are asynchronous (a slow pipe
// or disk only lets the queue grow), and past maxPendingBytes lines are dropped and counted rather
// than letting memory grow without bound. Lines are written whole and in order.
import { write as fsWrite, writeSync } from 'node:fs'

export interface LogDestinationOptions {
  /** Write as soon as this much is gathered; also the size of each reused buffer. */
  readonly flushBytes?: number
  /** Write whatever is gathered at least this often. */
  readonly flushMs?: number
  /** Drop lines while this much is waiting for a slow destination. */
  readonly maxPendingBytes?: number
}

/** Bytes waiting to be written: `length` bytes at the start of `buffer`. */
interface Chunk {
  readonly buffer: Buffer
  readonly length: number
}

// Buffers kept for reuse once written: one being filled and one being written is the steady state.
const SPARE_BUFFERS = 2

export class LogDestination {
  readonly #fd: number
  readonly #flushBytes: number
  readonly #flushMs: number
  readonly #maxPending: number
  /** The buffer lines are being encoded into, and how much of it is used. */
  #current: Buffer | undefined
  #used = 0
  /** Full chunks waiting their turn, oldest first. */
  #queue: Chunk[] = []
  #queuedBytes = 0
  #inFlight: Chunk | undefined
  #spare: Buffer[] = []
  #timer: NodeJS.Timeout | undefined
  #dropped = 0
  #afterWrite: (() => void)[] = []

  constructor(fd: number, options: LogDestinationOptions = {}) {
    this.#fd = fd
    this.#flushBytes = Math.max(1, options.flushBytes ?? 64 * 1024)
    this.#flushMs = options.flushMs ?? 100
    this.#maxPending = options.maxPendingBytes ?? 16 * 1024 * 1024
  }

  /** Lines dropped because the destination could not keep up. */
  get dropped(): number {
    return this.#dropped
  }

  write(line: string): boolean {
    if (this.#queuedBytes + this.#used > this.#maxPending) {
      this.#dropped++
      return false
    }
    // UTF-8 takes at most 3 bytes per UTF-16 code unit, so this bound never splits a line.
    const worst = line.length * 3
    if (this.#current !== undefined && this.#used + worst > this.#current.length) this.#seal()
    if (worst > this.#flushBytes) {
      const own = Buffer.from(line)
      this.#enqueue({ buffer: own, length: own.length })
    } else {
      this.#current ??= this.#spare.pop() ?? Buffer.allocUnsafe(this.#flushBytes)
      this.#used += this.#current.write(line, this.#used)
    }
    if (this.#inFlight) return true
    if (this.#queue.length > 0 || this.#used >= this.#flushBytes) this.#writeNext()
    else this.#armTimer()
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
    this.#seal()
    for (const chunk of this.#queue.splice(0)) {
      let offset = 0
      while (offset < chunk.length) {
        try {
          offset += writeSync(this.#fd, chunk.buffer, offset, chunk.length - offset)
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') break
        }
      }
      this.#recycle(chunk)
    }
    this.#queuedBytes = 0
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

  /** Moves the lines of the current buffer to the queue. */
  #seal(): void {
    if (this.#current === undefined || this.#used === 0) return
    this.#enqueue({ buffer: this.#current, length: this.#used })
    this.#current = undefined
    this.#used = 0
  }

  #enqueue(chunk: Chunk): void {
    this.#queue.push(chunk)
    this.#queuedBytes += chunk.length
  }

  #recycle(chunk: Chunk): void {
    if (chunk.buffer.length === this.#flushBytes && this.#spare.length < SPARE_BUFFERS)
      this.#spare.push(chunk.buffer)
  }

  #armTimer(): void {
    if (this.#timer || this.#used === 0) return
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (!this.#inFlight) this.#writeNext()
    }, this.#flushMs)
    this.#timer.unref()
  }

  #writeNext(): void {
    if (this.#queue.length === 0) this.#seal()
    const chunk = this.#queue.shift()
    if (chunk === undefined) return
    this.#queuedBytes -= chunk.length
    this.#inFlight = chunk
    this.#writeFrom(0)
  }

  #writeFrom(offset: number): void {
    const chunk = this.#inFlight
    if (!chunk) return
    fsWrite(this.#fd, chunk.buffer, offset, chunk.length - offset, null, (err, written) => {
      if (err) {
        // A non-blocking pipe that is full: try again shortly. Anything else: these lines are lost.
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.#writeFrom(offset), 10).unref()
          return
        }
        this.#dropped++
      } else if (offset + written < chunk.length) {
        this.#writeFrom(offset + written)
        return
      }
      this.#inFlight = undefined
      this.#recycle(chunk)
      if (this.#afterWrite.length > 0) {
        const waiting = this.#afterWrite
        this.#afterWrite = []
        for (const next of waiting) next()
        return
      }
      if (this.#queue.length > 0 || this.#used >= this.#flushBytes) this.#writeNext()
      else this.#armTimer()
    })
  }
}
