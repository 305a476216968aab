// Runs the real command line (or the real server) as its own process, from the sources: under tap
// with the same TypeScript loader the test itself runs with, else from the build (dist/).
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { projectRoot } from './nginx.js'

export interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

const root = projectRoot()
const tsLoader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'))

function entry(name: 'cli' | 'server'): string[] {
  return tsLoader.length > 0
    ? [...tsLoader, join(root, 'src', `${name}.ts`)]
    : [join(root, 'dist', 'src', `${name}.js`)]
}

/** The caller's environment without any GATEWAY_* variable: each test says what it sets. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GATEWAY_')))
  return { ...base, TS_NODE_TRANSPILE_ONLY: '1', ...env }
}

function run(argv: string[], env: Record<string, string>, timeoutMs: number): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: root,
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.once('error', reject)
    child.once('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

/** `download-gateway <args>`, to its exit. */
export function runCli(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Finished> {
  return run([...entry('cli'), ...args], env, timeoutMs)
}

/** The gateway, for a config it must refuse: to its exit (killed after `timeoutMs` if it starts). */
export function runServerToExit(env: Record<string, string>, timeoutMs = 60_000): Promise<Finished> {
  return run(entry('server'), env, timeoutMs)
}
