// PHP's `files` save handler: the session is the file `<save_path>/sess_<id>`, rewritten (or only
// touched, with session.lazy_write) at the end of every request that opened the session. PHP
// itself deletes files older than session.gc_maxlifetime only when its garbage collector happens to
// run, and reads an old file it finds as a live session; the gateway is stricter and takes the
// file's mtime as the session's last use, so a session idle longer than gc_maxlifetime is expired
// here even while its file waits for the collector.
//
// Callbacks, not fs/promises: a FileHandle read (open, stat, read, close, each a promise) cost
// about 2.5 times the CPU of the same calls by callback, and the close need not be waited for.
// Never the synchronous calls: a save_path on a slow or hung disk would stall every download.
import { access, close, constants, fstat, open, read, stat } from 'node:fs'
import { join } from 'node:path'
import { withCommandTimeout } from '../../../redis/command-timeout.js'
import { StoreUnavailableError } from '../../session-store.js'
import type { PhpSessionStorage, PhpStoredSession } from './php-session-storage.js'

export interface PhpFilesOptions {
  /** Absolute: the config resolves it. */
  readonly savePath: string
  readonly gcMaxLifetimeSeconds: number
  /** Files larger than this are not read: the decoder would refuse them anyway. */
  readonly maxBytes: number
  /** A read that takes longer fails closed (503), as a Redis command does. */
  readonly readTimeoutMs: number
}

// O_NOFOLLOW, as PHP opens session files: a link planted in the folder is not a session.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW
const ignore = () => {}

export class PhpFilesStorage implements PhpSessionStorage {
  readonly #o: PhpFilesOptions

  constructor(o: PhpFilesOptions) {
    this.#o = o
  }

  async read(checkedId: string): Promise<PhpStoredSession> {
    try {
      return await withCommandTimeout(
        this.#readFile(join(this.#o.savePath, `sess_${checkedId}`)),
        this.#o.readTimeoutMs,
      )
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }

  #readFile(file: string): Promise<PhpStoredSession> {
    const { gcMaxLifetimeSeconds, maxBytes } = this.#o
    return new Promise((resolve, reject) => {
      open(file, OPEN_FLAGS, (err, fd) => {
        if (err) {
          // ELOOP: the name is a symbolic link, which PHP would not open either.
          if (err.code === 'ENOENT' || err.code === 'ELOOP') return resolve('unknown')
          return reject(err)
        }
        const done = (answer: PhpStoredSession) => {
          close(fd, ignore)
          resolve(answer)
        }
        fstat(fd, (err, st) => {
          if (err) {
            close(fd, ignore)
            return reject(err)
          }
          if (!st.isFile()) return done('unknown')
          if (st.mtimeMs + gcMaxLifetimeSeconds * 1000 <= Date.now()) return done('expired')
          if (st.size > maxBytes) return done('too-large')
          // One byte past the size: a file that grew since fstat reads as cut short and is refused,
          // never taken for the shorter session it was.
          const buffer = Buffer.allocUnsafe(st.size + 1)
          read(fd, buffer, 0, buffer.length, 0, (err, bytesRead) => {
            if (err) {
              close(fd, ignore)
              return reject(err)
            }
            done(bytesRead > maxBytes ? 'too-large' : buffer.subarray(0, bytesRead))
          })
        })
      })
    })
  }

  ping(): Promise<void> {
    return new Promise((resolve, reject) => {
      access(this.#o.savePath, constants.R_OK | constants.X_OK, (err) => {
        if (err) return reject(new StoreUnavailableError(err))
        stat(this.#o.savePath, (err, st) => {
          if (err) return reject(new StoreUnavailableError(err))
          if (!st.isDirectory())
            return reject(new StoreUnavailableError(new Error('save_path is not a folder')))
          resolve()
        })
      })
    })
  }

  async close(): Promise<void> {}
}
