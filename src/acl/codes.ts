import type { AclProblem } from './types.js'

// Every problem code the ACL loader can report, in one place so logs, docs and tests agree.
export const AclCode = {
  // Reading files
  PATH_NOT_FOUND: 'GW_ACL_PATH_NOT_FOUND',
  READ_FAILED: 'GW_ACL_READ_FAILED',
  NO_FILES: 'GW_ACL_NO_FILES',
  // File shape
  YAML_SYNTAX: 'GW_ACL_YAML_SYNTAX',
  NOT_MAPPING: 'GW_ACL_NOT_MAPPING',
  NO_RULES: 'GW_ACL_NO_RULES',
  RULE_NOT_MAPPING: 'GW_ACL_RULE_NOT_MAPPING',
  UNKNOWN_FIELD: 'GW_ACL_UNKNOWN_FIELD',
  // Rule fields
  MISSING_ID: 'GW_ACL_MISSING_ID',
  BAD_ID: 'GW_ACL_BAD_ID',
  DUPLICATE_ID: 'GW_ACL_DUPLICATE_ID',
  MISSING_PATH: 'GW_ACL_MISSING_PATH',
  ALLOW_DENY: 'GW_ACL_ALLOW_DENY',
  BAD_SUBJECT: 'GW_ACL_BAD_SUBJECT',
  BAD_PATTERN: 'GW_ACL_BAD_PATTERN',
  UNKNOWN_PLACEHOLDER: 'GW_ACL_UNKNOWN_PLACEHOLDER',
  BAD_DISPOSITION: 'GW_ACL_BAD_DISPOSITION',
  BAD_LIMIT_RATE: 'GW_ACL_BAD_LIMIT_RATE',
  BAD_CACHE_CONTROL: 'GW_ACL_BAD_CACHE_CONTROL',
  BAD_REFUSAL: 'GW_ACL_BAD_REFUSAL',
  BAD_SHARE: 'GW_ACL_BAD_SHARE',
  // Warnings from the rule lint
  SHADOWED: 'GW_ACL_SHADOWED',
  OVERLAP: 'GW_ACL_OVERLAP',
  LINT_CAPPED: 'GW_ACL_LINT_CAPPED',
} as const

export type AclCodeValue = (typeof AclCode)[keyof typeof AclCode]

export function problem(
  severity: AclProblem['severity'],
  code: AclCodeValue,
  file: string,
  line: number,
  field: string,
  message: string,
): AclProblem {
  return { severity, code, file, line, field, message }
}

/** One line per problem, the form operators grep for: `file:line field: message [CODE severity]`. */
export { formatProblem } from '../problems.js'
