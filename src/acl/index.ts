// The ACL engine: rule files -> checked rule set -> decisions. Only this file is imported by the
// rest of the gateway.
export { buildRuleSet } from './build.js'
export { AclCode, formatProblem } from './codes.js'
export { describeDecision, explain } from './explain.js'
export { AclHolder, type AclLog } from './holder.js'
export { loadRuleSet } from './load.js'
export { DEFAULT_POLICY, parseLimitRate } from './policy.js'
export type {
  AclOptions,
  AclProblem,
  AclSource,
  BuildResult,
  Decision,
  DecisionReason,
  ResponsePolicy,
  RuleRef,
  RuleSet,
  Subject,
} from './types.js'
