// An S3-compatible server that checks signatures (test/fixtures/apps/s3-server.cjs) in its own
// process on a free loopback port, and a client that writes objects into it with correctly signed
// requests of its own making (SigV4 in the Authorization header, not the presigner under test).
import { createHash, createHmac } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { projectRoot } from './nginx.js'
import { sleep, spawnManaged } from './process.js'

export interface S3Server {
  port: number
  /** `http://127.0.0.1:<port>` */
  endpoint: string
  pid: number
  /** Stores `body` under `key` (written as is: the caller encodes nothing). */
  put(bucket: string, key: string, body: Buffer | string, headers?: Record<string, string>): Promise<void>
  output(): string
  stop(): Promise<void>
}

export interface S3Options {
  buckets: readonly string[]
  accessKeyId: string
  secretAccessKey: string
}

const SCRIPT = join(projectRoot(), 'test/fixtures/apps/s3-server.cjs')

export async function startS3Server(o: S3Options): Promise<S3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'gw-s3-'))
  const proc = spawnManaged(process.execPath, [SCRIPT], undefined, {
    S3_ACCESS_KEY_ID: o.accessKeyId,
    S3_SECRET_ACCESS_KEY: o.secretAccessKey,
    S3_DIRECTORY: directory,
    S3_BUCKETS: o.buckets.join(','),
  })
  const stop = async () => {
    await proc.stop('SIGTERM')
    await rm(directory, { recursive: true, force: true })
  }
  const deadline = Date.now() + 15_000
  let port = 0
  while (port === 0) {
    const match = /listening (\d+)/.exec(proc.output())
    if (match) port = Number(match[1])
    else if (proc.hasExited() || Date.now() > deadline) {
      await stop()
      throw new Error(`the S3 server did not start:\n${proc.output()}`)
    } else await sleep(20)
  }
  const endpoint = `http://127.0.0.1:${port}`
  return {
    port,
    endpoint,
    pid: proc.pid,
    output: proc.output,
    stop,
    async put(bucket, key, body, headers = {}) {
      const path = `/${bucket}/${key.split('/').map(rfc3986).join('/')}`
      const signed = signedHeaders('PUT', `127.0.0.1:${port}`, path, Buffer.from(body), o, headers)
      const res = await fetch(`${endpoint}${path}`, {
        method: 'PUT',
        body: Buffer.from(body),
        headers: signed,
      })
      if (res.status !== 200) throw new Error(`PUT ${path}: ${res.status} ${await res.text()}`)
    },
  }
}

function rfc3986(segment: string): string {
  return encodeURIComponent(segment).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

/** Header-signed SigV4 (the form SDKs upload with), written out here as the AWS docs give it. */
function signedHeaders(
  method: string,
  host: string,
  path: string,
  body: Buffer,
  o: S3Options,
  extra: Record<string, string>,
): Record<string, string> {
  const date = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '')
  const day = date.slice(0, 8)
  const payload = createHash('sha256').update(body).digest('hex')
  const headers: Record<string, string> = {
    host,
    'x-amz-content-sha256': payload,
    'x-amz-date': date,
    ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k.toLowerCase(), v])),
  }
  const names = Object.keys(headers).sort()
  const canonical = [
    method,
    path,
    '',
    ...names.map((n) => `${n}:${headers[n]}`),
    '',
    names.join(';'),
    payload,
  ].join('\n')
  const scope = `${day}/us-east-1/s3/aws4_request`
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonical).digest('hex')].join(
    '\n',
  )
  const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest()
  const key = hmac(hmac(hmac(hmac(`AWS4${o.secretAccessKey}`, day), 'us-east-1'), 's3'), 'aws4_request')
  const signature = createHmac('sha256', key).update(toSign).digest('hex')
  const { host: _host, ...rest } = headers
  return {
    ...rest,
    authorization: `AWS4-HMAC-SHA256 Credential=${o.accessKeyId}/${scope}, SignedHeaders=${names.join(';')}, Signature=${signature}`,
  }
}
