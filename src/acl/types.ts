// The public shapes of the ACL engine. The app wires against these names; keep them stable.
import type { FileProblem } from '../problems.js'

/** Who is asking. `user` null means anonymous. */
export interface Subject {
  readonly user: string | null
  readonly groups: readonly string[]
}

/** How a decision is delivered; each rule may override each field. */
export interface ResponsePolicy {
  readonly disposition: 'attachment' | 'inline'
  /** Bytes per second for X-Accel-Limit-Rate; 0 = unlimited. */
  readonly limitRate: number
  readonly cacheControl: string
  /** How a refusal under this rule shows: 404 hides that the file exists. */
  readonly refusal: 403 | 404
  /**
   * The longest a user who may read a file under this rule may share it by link, in seconds.
   * Absent: not shareable by its readers (an operator or the main app may still issue links).
   */
  readonly shareMaxTtl?: number
}

export interface RuleRef {
  readonly id: string
  readonly file: string
  readonly line: number
}

export type DecisionReason = 'GW_ALLOW_RULE' | 'GW_DENY_RULE' | 'GW_DENY_DEFAULT' | 'GW_ALLOW_DEFAULT'

export interface Decision {
  readonly allow: boolean
  readonly reason: DecisionReason
  readonly rule: RuleRef | null
  readonly policy: ResponsePolicy
}

/** A rule file's problem: always with its code and severity. Field e.g. `rules[3].path[1]`. */
export interface AclProblem extends FileProblem {
  readonly severity: 'error' | 'warning'
  readonly code: string
}

export interface AclOptions {
  readonly defaultEffect: 'allow' | 'deny'
  readonly defaults: ResponsePolicy
}

export interface RuleSet {
  decide(path: string, subject: Subject): Decision
  readonly ruleCount: number
  readonly files: readonly string[]
  readonly warnings: readonly AclProblem[]
}

export type BuildResult =
  | { ok: true; ruleSet: RuleSet; warnings: AclProblem[] }
  | { ok: false; errors: AclProblem[]; warnings: AclProblem[] }

export interface AclSource {
  readonly file: string
  readonly text: string
}
