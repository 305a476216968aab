import { parseDuration } from '../duration.js'
import type { ResponsePolicy } from './types.js'

// The delivery fields a rule (or a file's `defaults:`) may set, and their checks.

export const DEFAULT_POLICY: ResponsePolicy = Object.freeze({
  disposition: 'attachment',
  limitRate: 0,
  cacheControl: 'private, no-store',
  refusal: 403,
})

export type PolicyPatch = { -readonly [K in keyof ResponsePolicy]?: ResponsePolicy[K] }

/** YAML field name -> policy property. */
export const POLICY_FIELDS = {
  disposition: 'disposition',
  limit_rate: 'limitRate',
  cache_control: 'cacheControl',
  refusal: 'refusal',
  share: 'shareMaxTtl',
} as const

export type PolicyField = keyof typeof POLICY_FIELDS

export const POLICY_CODES = {
  disposition: 'GW_ACL_BAD_DISPOSITION',
  limit_rate: 'GW_ACL_BAD_LIMIT_RATE',
  cache_control: 'GW_ACL_BAD_CACHE_CONTROL',
  refusal: 'GW_ACL_BAD_REFUSAL',
  share: 'GW_ACL_BAD_SHARE',
} as const

const RATE = /^(\d+(?:\.\d+)?) *([kmgKMG])?$/
const UNIT: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }
// Printable ASCII only: a CR/LF would split the header, non-ASCII is not a valid header value.
const HEADER_VALUE = /^[\x20-\x7e]{1,1024}$/

/** Sets `patch[field]` from a YAML value, or returns an error message. */
export function readPolicyField(field: PolicyField, value: unknown, patch: PolicyPatch): string | null {
  switch (field) {
    case 'disposition':
      if (value !== 'attachment' && value !== 'inline') {
        return `disposition must be 'attachment' or 'inline', got ${show(value)}`
      }
      patch.disposition = value
      return null
    case 'limit_rate': {
      const rate = parseLimitRate(value)
      if (rate === null) {
        return `limit_rate must be bytes per second: a whole number or a string like 512k, 2m, 1g (1024-based), got ${show(value)}`
      }
      patch.limitRate = rate
      return null
    }
    case 'cache_control':
      if (typeof value !== 'string' || !HEADER_VALUE.test(value) || value.trim() === '') {
        return `cache_control must be a non-empty printable ASCII string without CR/LF (max 1024), got ${show(value)}`
      }
      patch.cacheControl = value
      return null
    case 'refusal':
      if (value !== 403 && value !== 404) return `refusal must be 403 or 404, got ${show(value)}`
      patch.refusal = value
      return null
    case 'share': {
      // `share: {max_ttl: 7d}`; rules.ts hands over the max_ttl value of that mapping.
      const seconds = typeof value === 'string' ? parseDuration(value) : null
      if (seconds === null) return `share must be {max_ttl: <duration>} like 12h or 7d, got ${show(value)}`
      patch.shareMaxTtl = seconds
      return null
    }
  }
}

export function parseLimitRate(value: unknown): number | null {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : null
  if (typeof value !== 'string') return null
  const m = RATE.exec(value)
  if (m === null) return null
  const unit = m[2] === undefined ? 1 : (UNIT[m[2].toLowerCase()] as number)
  const bytes = Math.floor(Number(m[1]) * unit)
  return Number.isSafeInteger(bytes) ? bytes : null
}

export function applyPatch(base: ResponsePolicy, patch: PolicyPatch): ResponsePolicy {
  // Rules without their own fields share the file's policy object.
  let empty = true
  for (const _ in patch) {
    empty = false
    break
  }
  if (empty) return base
  return Object.freeze({ ...base, ...patch })
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}
