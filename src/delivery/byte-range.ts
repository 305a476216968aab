// Which bytes of a file a Range header asks for, in the subset nginx's static module also serves:
// one satisfiable range gives 206, none satisfiable gives 416, anything else the whole file.
import parseRange from 'range-parser'

export type RangeAnswer =
  | { readonly kind: 'whole' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' }

export function resolveRange(size: number, rangeHeader: string | undefined): RangeAnswer {
  if (rangeHeader === undefined) return { kind: 'whole' }
  const ranges = parseRange(size, rangeHeader, { combine: true })
  if (ranges === -1) return { kind: 'unsatisfiable' }
  // Malformed headers are ignored, as RFC 9110 allows; several ranges are answered whole rather
  // than as multipart, which a development server does not need.
  if (ranges === -2 || ranges.type !== 'bytes' || ranges.length !== 1) return { kind: 'whole' }
  const only = ranges[0] as { start: number; end: number }
  return { kind: 'partial', start: only.start, end: only.end }
}
