// One wrk run on the load generator's core, its summary read from a Lua `done` hook as JSON
// (wrk's text report rounds and changes units).
import { spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

export interface WrkResult {
  readonly requests: number
  readonly bytes: number
  readonly seconds: number
  readonly p50Us: number
  readonly p99Us: number
  /** Non-2xx/3xx answers plus connect, read, write and timeout errors. */
  readonly errors: number
}

const REPORTER = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\nWRK-JSON {"requests":%d,"bytes":%d,"us":%d,"p50":%d,"p99":%d,"errors":%d}\\n',
    summary.requests, summary.bytes, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status + e.connect + e.read + e.write + e.timeout))
end
`

// For a refusal measured on purpose: its status is the expected answer, any other one an error.
// Counted per response in Lua, which costs wrk's own core only, and only in these runs.
const refusalReporter = (status: number) => `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) unexpected = 0 end
function response(status, headers, body)
  if status ~= ${status} then unexpected = unexpected + 1 end
end
done = function(summary, latency, requests)
  local e = summary.errors
  local u = 0
  for _, t in ipairs(threads) do u = u + t:get("unexpected") end
  io.write(string.format(
    '\\nWRK-JSON {"requests":%d,"bytes":%d,"us":%d,"p50":%d,"p99":%d,"errors":%d}\\n',
    summary.requests, summary.bytes, summary.duration,
    latency:percentile(50), latency:percentile(99),
    u + e.connect + e.read + e.write + e.timeout))
end
`

/**
 * Writes the reporter script into `dir`; pass its path to runWrk. With `refusalStatus`, that
 * status counts as the answer and every other one as an error (2xx included).
 */
export async function writeReporter(dir: string, refusalStatus?: number): Promise<string> {
  const file = join(dir, refusalStatus === undefined ? 'report.lua' : `report-${refusalStatus}.lua`)
  await writeFile(file, refusalStatus === undefined ? REPORTER : refusalReporter(refusalStatus))
  return file
}

export interface WrkRun {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  readonly cookie: string | undefined
  /** More request headers, `Name: value` each. */
  readonly headers?: readonly string[]
  readonly reporter: string
  readonly cpu: string
}

export function runWrk(r: WrkRun): Promise<WrkResult> {
  const args = [
    '-c',
    r.cpu,
    'wrk',
    '-t1',
    `-c${r.connections}`,
    `-d${r.seconds}s`,
    '--timeout',
    '20s',
    '-s',
    r.reporter,
    ...(r.cookie ? ['-H', `Cookie: ${r.cookie}`] : []),
    ...(r.headers ?? []).flatMap((h) => ['-H', h]),
    r.url,
  ]
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString()
    })
    child.once('error', reject)
    child.once('exit', (code) => {
      const m = /WRK-JSON (\{.*\})/.exec(out)
      if (code !== 0 || !m) return reject(new Error(`wrk failed (${code}):\n${out}`))
      const j = JSON.parse(m[1] as string) as Record<string, number>
      resolve({
        requests: j.requests as number,
        bytes: j.bytes as number,
        seconds: (j.us as number) / 1e6,
        p50Us: j.p50 as number,
        p99Us: j.p99 as number,
        errors: j.errors as number,
      })
    })
  })
}
