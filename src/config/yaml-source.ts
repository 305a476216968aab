// YAML parsing that remembers where every value came from, so each schema error can name a line.
import { isMap, LineCounter, type Node, parseDocument } from 'yaml'
import type { ConfigProblem } from './problems.js'

export interface YamlSource {
  readonly file: string
  readonly data: unknown
  /** 1-based line of the node at `path`, or of its nearest existing parent. */
  lineOf(path: readonly (string | number)[]): number
  /** True when the file itself sets `path` (a default filled in later does not count). */
  has(path: readonly (string | number)[]): boolean
}

export function parseYamlSource(
  file: string,
  text: string,
): { source?: YamlSource; problems: ConfigProblem[] } {
  const lineCounter = new LineCounter()
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true })
  const problems: ConfigProblem[] = doc.errors.map((e) => ({
    file,
    line: lineCounter.linePos(e.pos[0]).line,
    field: '(syntax)',
    message: e.message.split('\n')[0] ?? e.message,
  }))
  if (problems.length > 0) return { problems }
  const lineOf = (path: readonly (string | number)[]): number => {
    for (let n = path.length; n >= 0; n--) {
      const node = doc.getIn(path.slice(0, n), true) as Node | undefined
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        return lineCounter.linePos(node.range[0]).line
      }
      if (n === 0 && isMap(doc.contents) && doc.contents.range)
        return lineCounter.linePos(doc.contents.range[0]).line
    }
    return 1
  }
  const has = (path: readonly (string | number)[]) => doc.hasIn(path)
  return { source: { file, data: doc.toJS(), lineOf, has }, problems }
}
