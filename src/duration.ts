// Lifetimes as operators write them: `90s`, `15m`, `12h`, `7d`, `2w`. One parser for the CLI, the
// admin API and the config, so `7d` means the same everywhere.
const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 }

/** Seconds, or null when `text` is not a positive whole number followed by one unit. */
export function parseDuration(text: string): number | null {
  const m = /^([1-9][0-9]{0,8})([smhdw])$/.exec(text)
  if (!m) return null
  return Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number)
}

export const DURATION_PATTERN = '^[1-9][0-9]{0,8}[smhdw]$'
