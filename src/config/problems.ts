// The config file's problems, and the error that carries all of them at once. The line each is
// printed as comes from src/problems.ts, shared with the rule and users files.
import { type FileProblem, formatProblem } from '../problems.js'

export type ConfigProblem = FileProblem
export { formatProblem }

export class ConfigError extends Error {
  readonly code = 'GW_ERR_CONFIG'
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}
