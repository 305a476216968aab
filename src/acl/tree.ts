// A YAML document reduced to what the rule reader needs: values plus the line each node starts on.
// Both YAML readers (the fast one and the full `yaml` package) produce this shape, so the rule
// checks run once on one model whichever reader was used.

export type YNode = YMap | YSeq | YScalar

export interface YMap {
  readonly kind: 'map'
  readonly line: number
  readonly entries: readonly YEntry[]
}

export interface YEntry {
  readonly key: string
  readonly keyLine: number
  readonly value: YNode
}

export interface YSeq {
  readonly kind: 'seq'
  readonly line: number
  readonly items: readonly YNode[]
}

export interface YScalar {
  readonly kind: 'scalar'
  readonly line: number
  readonly value: string | number | boolean | null
}

/** Plain JS value of a node; used by tests to compare the two readers. */
export function toPlain(node: YNode): unknown {
  if (node.kind === 'scalar') return node.value
  if (node.kind === 'seq') return node.items.map(toPlain)
  const out: Record<string, unknown> = {}
  for (const e of node.entries) out[e.key] = toPlain(e.value)
  return out
}
