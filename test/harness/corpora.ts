// The shared public test corpora (traversal payloads, Content-Disposition vectors) live beside the
// project, in ../shared/corpora/ relative to its root. A missing folder is an error, never a skip:
// a security test that quietly runs on nothing proves nothing.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const CORPORA_DIR = fileURLToPath(new URL('../../../shared/corpora/', import.meta.url))

/** The bytes of `relative` (e.g. `traversal/deep_traversal.txt`); throws when it is not there. */
export function readCorpus(relative: string): Buffer {
  const path = fileURLToPath(new URL(relative, new URL('../../../shared/corpora/', import.meta.url)))
  if (!existsSync(path)) {
    throw new Error(
      `corpus ${relative} not found at ${path}: the shared corpora must sit in ../shared/corpora/ ` +
        'beside the project root (see the security tests)',
    )
  }
  return readFileSync(path)
}

/** The lines of a text corpus, without line ends; a trailing empty line is dropped. */
export function readCorpusLines(relative: string): string[] {
  const lines = readCorpus(relative).toString('utf8').split(/\r?\n/)
  if (lines[lines.length - 1] === '') lines.pop()
  return lines
}
