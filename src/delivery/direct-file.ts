// Development delivery: the gateway opens and streams the file itself, the way nginx would from the
// internal location. It applies the same policy as the production nginx config: no symlinks anywhere
// below the root (disable_symlinks), regular files only (directories, FIFOs and devices are 404).
import { constants, type Stats } from 'node:fs'
import { type FileHandle, open, realpath } from 'node:fs/promises'
import { join } from 'node:path'

export type OpenedFile =
  | { readonly ok: true; readonly handle: FileHandle; readonly stats: Stats }
  | { readonly ok: false; readonly reason: 'not-found' | 'not-a-file' | 'symlink' }

/**
 * Opens `root/segments...` for reading, refusing symlinks: the last component with O_NOFOLLOW, the
 * directories above it by comparing their real path with the path we built. O_NONBLOCK keeps a
 * FIFO from blocking the open; fstat then turns it away.
 */
export async function openServedFile(realRoot: string, segments: readonly string[]): Promise<OpenedFile> {
  const parentDir = join(realRoot, ...segments.slice(0, -1))
  const fullPath = join(parentDir, segments[segments.length - 1] as string)
  let handle: FileHandle
  try {
    handle = await open(fullPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ELOOP') return { ok: false, reason: 'symlink' }
    return { ok: false, reason: 'not-found' }
  }
  try {
    const stats = await handle.stat()
    if (!stats.isFile()) {
      await handle.close()
      return { ok: false, reason: 'not-a-file' }
    }
    if (segments.length > 1 && (await realpath(parentDir)) !== parentDir) {
      await handle.close()
      return { ok: false, reason: 'symlink' }
    }
    return { ok: true, handle, stats }
  } catch {
    await handle.close().catch(() => {})
    return { ok: false, reason: 'not-found' }
  }
}
