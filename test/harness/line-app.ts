// A framework's tiny app driven over stdin/stdout, one JSON line per request and per answer: one
// process serves every session a test writes, instead of one process (and one framework start-up)
// per login. Stopped by its own PID; also killed if the test process exits first.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

export interface LineApp {
  ask(request: object): Promise<Record<string, unknown>>
  stop(): Promise<void>
}

export function startLineApp(command: string, args: string[]): LineApp {
  const child: ChildProcessWithoutNullStreams = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-8192)
  })
  const waiting: { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }[] = []
  createInterface({ input: child.stdout }).on('line', (line) => {
    const next = waiting.shift()
    if (next === undefined) return
    try {
      next.resolve(JSON.parse(line) as Record<string, unknown>)
    } catch (err) {
      next.reject(new Error(`${command} answered ${line}: ${(err as Error).message}`))
    }
  })
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      for (const w of waiting.splice(0))
        w.reject(new Error(`${command} exited (${code ?? signal}): ${stderr}`))
      resolve()
    })
  })
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  return {
    ask(request) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject })
        child.stdin.write(`${JSON.stringify(request)}\n`)
      })
    },
    async stop() {
      process.removeListener('exit', killOnExit)
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end()
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
        await exited
        clearTimeout(timer)
      }
    },
  }
}
