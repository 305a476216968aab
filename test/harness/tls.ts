// A throwaway self-signed certificate for 127.0.0.1 and the given host names, made with the openssl
// command line, for nginx's TLS server in tests (startNginx's `tls` option). Clients trust exactly this
// certificate (curl --cacert), so verification stays on.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

export interface TestCertificate {
  /** PEM certificate: also the CA file a client trusts it with. */
  certificate: string
  /** PEM private key, unencrypted. */
  key: string
  cleanup(): Promise<void>
}

export async function makeTestCertificate(
  hostNames: readonly string[] = ['localhost'],
): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-tls-'))
  const certificate = join(dir, 'cert.pem')
  const key = join(dir, 'key.pem')
  const cleanup = () => rm(dir, { recursive: true, force: true })
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${hostNames[0] ?? 'localhost'}`,
      '-addext',
      `subjectAltName=${['IP:127.0.0.1', ...hostNames.map((n) => `DNS:${n}`)].join(',')}`,
      '-keyout',
      key,
      '-out',
      certificate,
    ])
  } catch (err) {
    await cleanup()
    throw new Error(`makeTestCertificate: openssl failed: ${(err as Error).message}`)
  }
  return { certificate, key, cleanup }
}
