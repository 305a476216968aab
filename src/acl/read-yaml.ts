import { parseFastYaml } from './fast-yaml.js'
import { parseFullYaml } from './full-yaml.js'
import type { YNode } from './tree.js'

export type ReadResult = { ok: true; root: YNode | null } | { ok: false; line: number; message: string }

/** YAML text to a line-annotated tree: the fast reader when it can, the full one otherwise. */
export function readYaml(text: string): ReadResult {
  const fast = parseFastYaml(text)
  if (fast !== undefined) return { ok: true, root: fast }
  return parseFullYaml(text)
}
