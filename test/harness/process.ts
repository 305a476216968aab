import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'

/**
 * A spawned server process that dies with the test process: if a test crashes before its
 * teardown runs, the `exit` hook still kills it, so no orphan keeps a port or a temp dir busy.
 */
export interface Managed {
  child: ChildProcess
  pid: number
  /** Combined stdout and stderr so far (last 64 KiB), for error messages. */
  output(): string
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>
  hasExited(): boolean
  /** Sends `signal`, then SIGKILL (to it and its children) if it has not exited in `graceMs`. */
  stop(signal: NodeJS.Signals, graceMs?: number): Promise<void>
}

const OUTPUT_LIMIT = 64 * 1024

// One process `exit` hook for every managed process (a hook each would trip Node's listener limit).
const killers = new Set<() => void>()
process.on('exit', () => {
  for (const kill of killers) kill()
})

/** `env`: variables added to this process's environment for the child. */
export function spawnManaged(
  command: string,
  args: string[],
  cwd?: string,
  env?: Record<string, string>,
): Managed {
  const child = spawn(command, args, {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(env ? { env: { ...process.env, ...env } } : {}),
  })
  let out = ''
  const collect = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-OUTPUT_LIMIT)
  }
  child.stdout?.on('data', collect)
  child.stderr?.on('data', collect)

  let done = false
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true
      killers.delete(killOnExit)
      resolve(code ?? signal ?? 'unknown')
    })
    child.once('error', (err) => {
      done = true
      killers.delete(killOnExit)
      collect(Buffer.from(`\nspawn ${command} failed: ${err.message}\n`))
      resolve('spawn-error')
    })
  })

  function killOnExit() {
    if (child.pid === undefined) return
    for (const pid of [...childPids(child.pid), child.pid]) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  }
  killers.add(killOnExit)

  async function stop(signal: NodeJS.Signals, graceMs = 5000): Promise<void> {
    if (done || child.pid === undefined) {
      await exited
      return
    }
    // Children are listed before the signal: once the parent is gone they are no longer its own.
    const children = childPids(child.pid)
    child.kill(signal)
    const timer = new Promise<'timeout'>((resolve) => setTimeout(resolve, graceMs, 'timeout').unref())
    if ((await Promise.race([exited, timer])) === 'timeout') {
      for (const pid of [...childPids(child.pid), ...children]) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      child.kill('SIGKILL')
      await exited
    }
  }

  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    exited,
    hasExited: () => done,
    stop,
  }
}

/** Direct children of `pid`, read from Linux /proc; empty where that is not available. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number)
  } catch {
    // Kernels without CONFIG_PROC_CHILDREN: scan every process's parent.
  }
  const found: number[] = []
  try {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue
      try {
        // Field 4 of /proc/N/stat is the parent PID; the command name before it is in parentheses.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        if (ppid === pid) found.push(Number(entry))
      } catch {
        // exited while scanning
      }
    }
  } catch {
    // no /proc
  }
  return found
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
