import { isMap, isPair, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml'
import type { YEntry, YNode } from './tree.js'

export type FullParse = { ok: true; root: YNode | null } | { ok: false; line: number; message: string }

// The complete YAML reader. Slow on very large files (tens of µs per rule), so the fast reader
// handles the common shape and this one handles everything else, including every syntax error.
export function parseFullYaml(text: string): FullParse {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const first = doc.errors[0]
  if (first !== undefined) {
    const line = first.linePos?.[0].line ?? lineCounter.linePos(first.pos[0]).line
    return { ok: false, line, message: first.message.split('\n')[0] ?? first.message }
  }
  if (doc.contents === null) return { ok: true, root: null }
  const lineOf = (n: Node): number => (n.range ? lineCounter.linePos(n.range[0]).line : 0)
  return { ok: true, root: convert(doc.contents, lineOf) }
}

function convert(node: unknown, lineOf: (n: Node) => number): YNode {
  if (isMap(node)) {
    const entries: YEntry[] = []
    for (const pair of node.items) {
      if (!isPair(pair)) continue
      const key = pair.key
      const keyText = isScalar(key) ? String(key.value) : String(key)
      const keyLine = isScalar(key) ? lineOf(key) : lineOf(node)
      const value: YNode =
        pair.value === null || pair.value === undefined
          ? { kind: 'scalar', line: keyLine, value: null }
          : convert(pair.value, lineOf)
      entries.push({ key: keyText, keyLine, value })
    }
    return { kind: 'map', line: lineOf(node), entries }
  }
  if (isSeq(node)) {
    return { kind: 'seq', line: lineOf(node), items: node.items.map((item) => convert(item, lineOf)) }
  }
  if (isScalar(node)) {
    const v = node.value
    const value =
      typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v === null ? v : String(v)
    return { kind: 'scalar', line: lineOf(node), value }
  }
  // Aliases and other exotic nodes: keep them as text so checks can reject them with a line.
  return { kind: 'scalar', line: 0, value: String(node) }
}
