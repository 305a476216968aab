// A problem found in a file the gateway reads (its config, the rule files, the users file), always
// with the file, line and field it is about, so an operator can go straight to it. One formatter
// for all of them: the start-up error, a refused reload and the command line print the same line.
export interface FileProblem {
  readonly file: string
  /** 1-based; 0 when the problem is the file itself (missing, unreadable). */
  readonly line: number
  /** Dotted path of the field (`session.cookie.secure`, `rules[2].path`); '' for the whole file. */
  readonly field: string
  readonly message: string
  /** A stable code, where the reader has them (the rule files' GW_ACL_*). */
  readonly code?: string
  readonly severity?: 'error' | 'warning'
}

/** `file:line field: message [CODE severity]`, the form operators grep for. */
export function formatProblem(p: FileProblem): string {
  const where = p.field === '' ? `${p.file}:${p.line}` : `${p.file}:${p.line} ${p.field}`
  const tag = p.code === undefined ? '' : ` [${p.code}${p.severity === undefined ? '' : ` ${p.severity}`}]`
  return `${where}: ${p.message}${tag}`
}
