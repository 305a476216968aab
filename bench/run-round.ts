// One measured round of one setup at one size (a Cell): wrk's figures, and around the run the
// server core's CPU time by process, both cores' busy share and the Node process's memory.
import { childPids } from '../test/harness/process.js'
import { busyShare, coreTicks } from './core-ticks.js'
import { cpuMicros, sampleRss, sampleRssRise } from './processes.js'
import type { Cell } from './run-cell.js'
import { LOAD_CPU, MiB, SERVER_CPU, type Size } from './run-settings.js'
import type { Setup } from './run-setups.js'
import type { WrkResult } from './wrk.js'

/**
 * Measures `load` (a wrk run of `seconds` against setup `s`): the server time is every process
 * that works for the setup on the servers' core, nginx workers, its Node process and, for the
 * gateways, Redis, or the main app the callback gateway asks.
 */
export async function measureRound(
  s: Setup,
  size: Size,
  redisPid: number,
  seconds: number,
  load: (seconds: number) => Promise<WrkResult>,
): Promise<Cell> {
  const pids = [
    ...childPids(s.nginx.pid),
    ...(s.node ? [s.node.pid] : []),
    ...(s.usesRedis ? [redisPid] : []),
    ...(s.helperPids ?? []),
  ]
  const cpuBefore = pids.map(cpuMicros)
  const nodeBefore = s.node ? cpuMicros(s.node.pid) : 0
  const rss = s.node ? sampleRss(s.node.pid) : undefined
  // The peak alone cannot tell growth from garbage V8 still holds from earlier sizes: at
  // 256 MiB the rise above RSS's own low point is sampled too (the RSS target).
  const rise = s.node && size.bytes === 256 * MiB ? sampleRssRise(s.node.pid) : undefined
  const coresBefore = [coreTicks(SERVER_CPU), coreTicks(LOAD_CPU)] as const
  const w = await load(seconds)
  const core0Busy = busyShare(coresBefore[0], coreTicks(SERVER_CPU))
  const core1Busy = busyShare(coresBefore[1], coreTicks(LOAD_CPU))
  const riseKiB = rise?.stop().riseKiB
  const peak = rss?.stop()
  const core0 = pids.reduce((sum, pid, i) => sum + cpuMicros(pid) - (cpuBefore[i] as number), 0)
  return {
    setup: s.name,
    size: size.label,
    wrk: w,
    rps: w.requests / w.seconds,
    mibps: w.bytes / MiB / w.seconds,
    nodeUs: s.node ? (cpuMicros(s.node.pid) - nodeBefore) / w.requests : undefined,
    core0Us: core0 / w.requests,
    core0Busy,
    core1Busy,
    peakRssMiB: peak === undefined ? undefined : peak / 1024,
    rssRiseMiB: riseKiB === undefined ? undefined : riseKiB / 1024,
  }
}
