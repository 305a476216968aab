// A configuration problem, always with the file, line and field it is about, so an operator can go
// straight to it. Used for start-up, for reloads and by the command line.
export interface ConfigProblem {
  readonly file: string
  readonly line: number
  readonly field: string
  readonly message: string
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line} ${p.field}: ${p.message}`
}

export class ConfigError extends Error {
  readonly code = 'GW_ERR_CONFIG'
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}
