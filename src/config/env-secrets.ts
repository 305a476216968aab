// Secrets read from the environment: NAME itself, or the file NAME_FILE names (Docker secrets).
// Apart from the YAML so the reload path (ops/reload.ts) reads them again exactly as start-up did,
// and so nothing else in the config code touches a secret's value.
import { readFileSync } from 'node:fs'

export type Env = Readonly<Record<string, string | undefined>>

/** The session secrets the environment names now; also read again on SIGHUP (ops/reload.ts). */
export function readSecrets(env: Env, problem: (name: string, message: string) => void): string[] {
  const raw = readSecretValue(env, 'GATEWAY_SESSION_SECRETS', problem)
  if (raw === undefined) return []
  const secrets = raw
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && !s.startsWith('#'))
  for (const s of secrets) {
    if (s.length < 32) problem('GATEWAY_SESSION_SECRETS', 'each secret must be at least 32 characters long')
  }
  return secrets
}

/**
 * A framework's secrets, newest first, one per line or comma-separated (the same reading as
 * GATEWAY_SESSION_SECRETS); required when that framework is the source. No minimum length: the
 * app's secret is what it is, and the gateway must accept it to read the app's cookies.
 */
export function readFrameworkSecrets(
  env: Env,
  name: string,
  problem: (name: string, message: string) => void,
): string[] {
  const fromFile = !env[name] && Boolean(env[`${name}_FILE`])
  const raw = readSecretValue(env, name, problem)
  // An unreadable file has been reported already.
  if (raw === undefined && fromFile) return []
  const secrets = (raw ?? '')
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0 && !s.startsWith('#'))
  if (secrets.length === 0)
    problem(fromFile ? `${name}_FILE` : name, `required by this session.source (${name} or ${name}_FILE)`)
  return secrets
}

/** NAME from the environment, or the contents of the file NAME_FILE points to (Docker secrets). */
export function readSecretValue(
  env: Env,
  name: string,
  problem: (name: string, message: string) => void,
): string | undefined {
  const direct = env[name]
  if (direct) return direct
  const fileName = env[`${name}_FILE`]
  if (!fileName) return undefined
  try {
    return readFileSync(fileName, 'utf8').trim()
  } catch (err) {
    problem(`${name}_FILE`, `cannot read ${fileName}: ${(err as NodeJS.ErrnoException).code}`)
    return undefined
  }
}
