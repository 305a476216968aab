// How busy a whole core was, from /proc/stat: every process on it, and the interrupt and softirq
// work that no process's own counters show (loopback TCP is done there). Tells which core limits
// a setup: the one near 100%.
import { readFileSync } from 'node:fs'

/** Clock ticks one core has spent so far: all of them, and those it was busy. */
export interface CoreTicks {
  readonly total: number
  readonly busy: number
}

/**
 * The counters of core `cpu` in /proc/stat's text. Busy is everything but idle, iowait and steal
 * (time the hypervisor gave to someone else); guest time is already counted inside user.
 */
export function parseCoreTicks(procStat: string, cpu: string): CoreTicks {
  const line = procStat.split('\n').find((l) => l.startsWith(`cpu${cpu} `))
  if (!line) throw new Error(`/proc/stat has no line for cpu${cpu}`)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number)
  const busy = (user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)
  return { total: busy + (idle ?? 0) + (iowait ?? 0) + (steal ?? 0), busy }
}

export function coreTicks(cpu: string): CoreTicks {
  return parseCoreTicks(readFileSync('/proc/stat', 'utf8'), cpu)
}

/** The share of time a core was busy between two readings, 0 to 1 (0 when no tick passed). */
export function busyShare(before: CoreTicks, after: CoreTicks): number {
  const total = after.total - before.total
  return total > 0 ? (after.busy - before.busy) / total : 0
}
