// The public test corpora (traversal payloads, Content-Disposition vectors), vendored byte for byte
// in test/fixtures/corpora/ with their licences and sources (see the README there). A missing file
// is an error, never a skip: a security test that quietly runs on nothing proves nothing.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const CORPORA_URL = new URL('../fixtures/corpora/', import.meta.url)

/** The bytes of `relative` (e.g. `traversal/deep_traversal.txt`); throws when it is not there. */
export function readCorpus(relative: string): Buffer {
  const path = fileURLToPath(new URL(relative, CORPORA_URL))
  if (!existsSync(path)) {
    throw new Error(
      `corpus ${relative} not found at ${path}: test/fixtures/corpora/ is part of the repository`,
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
