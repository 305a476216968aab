// PHP's `files` save handler: the session is the file `<save_path>/sess_<id>`, rewritten (or only
// touched, with session.lazy_write) at the end of every request that opened the session. PHP
// itself deletes files older than session.gc_maxlifetime only when its garbage collector happens to
// run, and reads an old file it finds as a live session; the gateway is stricter and takes the
// file's mtime as the session's last use, so a session idle longer than gc_maxlifetime is expired
// here even while its file waits for the collector.
import { constants } from 'node:fs'
import { access, open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { StoreUnavailableError } from '../../session-store.js'
import type { PhpSessionStorage, PhpStoredSession } from './php-session-storage.js'

export interface PhpFilesOptions {
  /** Absolute: the config resolves it. */
  readonly savePath: string
  readonly gcMaxLifetimeSeconds: number
  /** Files larger than this are not read: the decoder would refuse them anyway. */
  readonly maxBytes: number
}

// O_NOFOLLOW, as PHP opens session files: a link planted in the folder is not a session.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW

export class PhpFilesStorage implements PhpSessionStorage {
  readonly #o: PhpFilesOptions

  constructor(o: PhpFilesOptions) {
    this.#o = o
  }

  async read(checkedId: string): Promise<PhpStoredSession> {
    let handle: Awaited<ReturnType<typeof open>>
    try {
      handle = await open(join(this.#o.savePath, `sess_${checkedId}`), OPEN_FLAGS)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // ELOOP: the name is a symbolic link, which PHP would not open either.
      if (code === 'ENOENT' || code === 'ELOOP') return 'unknown'
      throw new StoreUnavailableError(err)
    }
    try {
      const stat = await handle.stat()
      if (!stat.isFile()) return 'unknown'
      if (stat.mtimeMs + this.#o.gcMaxLifetimeSeconds * 1000 <= Date.now()) return 'expired'
      if (stat.size > this.#o.maxBytes) return 'too-large'
      return await handle.readFile()
    } catch (err) {
      throw new StoreUnavailableError(err)
    } finally {
      await handle.close().catch(() => {})
    }
  }

  async ping(): Promise<void> {
    try {
      await access(this.#o.savePath, constants.R_OK | constants.X_OK)
      if (!(await stat(this.#o.savePath)).isDirectory()) throw new Error('save_path is not a folder')
    } catch (err) {
      throw new StoreUnavailableError(err)
    }
  }

  async close(): Promise<void> {}
}
