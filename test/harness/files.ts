import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, isAbsolute, join } from 'node:path'

export interface FileTree {
  /** Absolute path of the tree's root directory, no trailing slash. */
  root: string
  cleanup(): Promise<void>
}

/**
 * Creates a temporary directory holding `spec`'s files (keys are relative paths with `/`,
 * parent directories are created). Directories are 0755 and files 0644 so an nginx worker
 * running as another user could read them too.
 */
export async function makeFileTree(spec: Record<string, string | Buffer>): Promise<FileTree> {
  const root = await mkdtemp(join(tmpdir(), 'gw-files-'))
  const cleanup = () => rm(root, { recursive: true, force: true })
  try {
    await chmod(root, 0o755)
    for (const [name, content] of Object.entries(spec)) {
      if (name === '' || isAbsolute(name) || name.split('/').some((s) => s === '..' || s === '.')) {
        throw new Error(`makeFileTree: ${JSON.stringify(name)} is not a plain relative path`)
      }
      const file = join(root, name)
      await mkdir(dirname(file), { recursive: true, mode: 0o755 })
      await writeFile(file, content, { mode: 0o644 })
    }
  } catch (err) {
    await cleanup()
    throw err
  }
  return { root, cleanup }
}
