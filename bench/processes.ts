// Processes the benchmark starts, pinned to a core, with their output in a file (never a pipe to
// this process, which shares the load generator's core), and what /proc says about them.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs'

export interface Pinned {
  readonly pid: number
  readonly name: string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop(graceMs?: number): Promise<void>
  exited(): boolean
}

// Everything still running when this process exits (an error, Ctrl-C) is killed by PID.
const running = new Set<ChildProcess>()
process.on('exit', () => {
  for (const child of running) if (child.pid !== undefined) safeKill(child.pid, 'SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

/** Starts `command` under `taskset -c <cpu>`, stdout and stderr appended to `logFile`. */
export function spawnPinned(
  name: string,
  cpu: string,
  command: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): Pinned {
  const fd = openSync(logFile, 'a')
  const child = spawn('taskset', ['-c', cpu, command, ...args], { stdio: ['ignore', fd, fd], env })
  closeSync(fd)
  running.add(child)
  let done = false
  const exit = new Promise<void>((resolve) => {
    const finish = () => {
      done = true
      running.delete(child)
      resolve()
    }
    child.once('exit', finish)
    child.once('error', finish)
  })
  return {
    pid: child.pid ?? -1,
    name,
    exited: () => done,
    async stop(graceMs = 5000) {
      if (done || child.pid === undefined) return exit
      child.kill('SIGTERM')
      const timer = new Promise<'late'>((r) => setTimeout(r, graceMs, 'late').unref())
      if ((await Promise.race([exit, timer])) === 'late') {
        child.kill('SIGKILL')
        await exit
      }
    },
  }
}

function safeKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal)
  } catch {
    // already gone
  }
}

/** Every tool a benchmark needs, checked before anything starts, with the command that installs it. */
export function checkTools(command: string): void {
  const missing = ['wrk', 'taskset', 'redis-server'].filter(
    (tool) => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status !== 0,
  )
  if (
    spawnSync('sh', ['-c', 'command -v nginx || test -x /usr/sbin/nginx'], { stdio: 'ignore' }).status !== 0
  ) {
    missing.push('nginx')
  }
  if (missing.length > 0) {
    process.stderr.write(
      `${command} needs ${missing.join(', ')} on PATH.\nOn Debian: apt-get install -y wrk nginx-light redis-server util-linux\n`,
    )
    process.exit(2)
  }
}

/** Pins this process (all its threads, `taskset -a`) to `cpu`, off the servers' core. */
export function pinSelf(cpu: string): void {
  const r = spawnSync('taskset', ['-a', '-p', '-c', cpu, String(process.pid)], { stdio: 'ignore' })
  if (r.status !== 0) throw new Error(`taskset could not pin the benchmark to CPU ${cpu}`)
}

const TICK_US = 1_000_000 / 100 // USER_HZ is 100 on Linux

/** User + system CPU time of `pid` so far, in microseconds (0 once it has gone). */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    // Fields 14 and 15 of the whole line (utime, stime); the slice starts at field 3.
    return (Number(fields[11]) + Number(fields[12])) * TICK_US
  } catch {
    return 0
  }
}

/** Resident set size of `pid` in KiB (VmRSS), 0 once it has gone. */
export function rssKiB(pid: number): number {
  return statusKiB(pid, 'VmRSS')
}

/** One `kB` field of /proc/<pid>/status, 0 once the process has gone. */
function statusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

/**
 * The peak resident set size of `pid` between this call and stop(), in KiB. The kernel keeps the
 * peak itself (VmHWM, reset by writing 5 to clear_refs), so nothing polls from the load
 * generator's core while wrk runs; where the reset is refused, VmRSS is sampled every 20 ms.
 */
export function sampleRss(pid: number): { stop(): number } {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5')
    return { stop: () => Math.max(statusKiB(pid, 'VmHWM'), rssKiB(pid)) }
  } catch {
    // not permitted here: fall back to sampling
  }
  let peak = rssKiB(pid)
  const timer = setInterval(() => {
    const now = rssKiB(pid)
    if (now > peak) peak = now
  }, 20)
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, rssKiB(pid))
    },
  }
}

/**
 * How far the RSS of `pid` rises above its own lowest point while this runs, in KiB: the largest
 * later-minus-earlier difference between samples taken every `intervalMs`, the first one now.
 * V8 giving back the garbage of earlier work makes RSS fall during a run; a fall is not growth,
 * and a rise after it still counts in full. Used where requests are few and large (256 MiB), so
 * the sampling costs the load generator's core next to nothing.
 */
export function sampleRssRise(
  pid: number,
  intervalMs = 10,
): { stop(): { riseKiB: number; peakKiB: number } } {
  let low = rssKiB(pid)
  let peak = low
  let rise = 0
  const take = () => {
    const now = rssKiB(pid)
    if (now === 0) return // gone
    if (now < low) low = now
    if (now > peak) peak = now
    if (now - low > rise) rise = now - low
  }
  const timer = setInterval(take, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      take()
      return { riseKiB: rise, peakKiB: peak }
    },
  }
}
