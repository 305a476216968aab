// A browser-like client for tests: the curl command line with a cookie jar file. curl keeps cookies
// the way RFC 6265 says a user agent must (it never sends a Secure cookie over plain HTTP, and
// does not accept one from it, and forgets a cookie whose expiry has passed), which fetch, with no
// jar at all, cannot show. Proxies from the environment are ignored: traffic stays on loopback.
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface CurlResponse {
  status: number
  /** Lower-case names; a header sent more than once keeps every value. */
  headers: Record<string, string[]>
  body: string
}

export interface JarCookie {
  domain: string
  path: string
  secure: boolean
  httpOnly: boolean
  name: string
  value: string
}

export interface CurlRequest {
  method?: string
  /** Sent as a form (application/x-www-form-urlencoded), as a login page would. */
  form?: Record<string, string>
  headers?: Record<string, string>
  /** Source address of the connection (curl --interface), e.g. 127.0.0.2. */
  from?: string
}

export interface CurlClient {
  request(url: string, req?: CurlRequest): Promise<CurlResponse>
  /** The cookies in the jar now. */
  cookies(): Promise<JarCookie[]>
  cleanup(): Promise<void>
}

export interface CurlOptions {
  /** A PEM certificate to trust for https (and nothing else). */
  caFile?: string
  /**
   * Host names that connect to 127.0.0.1 (on the URL's port). curl, like browsers, treats
   * http://localhost and 127.0.0.1 as secure and sends Secure cookies there; under any other name
   * the cookie rules apply as they would on a real site.
   */
  loopbackNames?: readonly string[]
}

/** A client with an empty jar. */
export async function curlClient(opts: CurlOptions = {}): Promise<CurlClient> {
  const dir = await mkdtemp(join(tmpdir(), 'gw-curl-'))
  const jar = join(dir, 'cookies.txt')
  return {
    async request(url, req = {}) {
      // -q first: no ~/.curlrc changes what is sent.
      const args = ['-q', '-sS', '-i', '--noproxy', '*', '--max-time', '10', '-b', jar, '-c', jar]
      if (opts.caFile) args.push('--cacert', opts.caFile)
      for (const name of opts.loopbackNames ?? []) args.push('--connect-to', `${name}::127.0.0.1:`)
      if (req.method) args.push('-X', req.method)
      if (req.from) args.push('--interface', req.from)
      for (const [name, value] of Object.entries(req.headers ?? {})) args.push('-H', `${name}: ${value}`)
      if (req.form) args.push('--data-raw', new URLSearchParams(req.form).toString())
      args.push('--', url)
      const out = await new Promise<string>((resolve, reject) => {
        execFile('curl', args, { encoding: 'latin1' }, (err, stdout, stderr) =>
          err ? reject(new Error(`curl ${url}: ${stderr || err.message}`)) : resolve(stdout),
        )
      })
      return parseResponse(out)
    },
    async cookies() {
      let text: string
      try {
        text = await readFile(jar, 'utf8')
      } catch {
        return []
      }
      return parseJar(text)
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  }
}

function parseResponse(out: string): CurlResponse {
  const end = out.indexOf('\r\n\r\n')
  const head = end === -1 ? out : out.slice(0, end)
  const [statusLine = '', ...lines] = head.split('\r\n')
  const status = Number(/^HTTP\/[0-9.]+ ([0-9]{3})/.exec(statusLine)?.[1])
  if (!Number.isInteger(status))
    throw new Error(`curl: no status line in ${JSON.stringify(out.slice(0, 200))}`)
  const headers: Record<string, string[]> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    headers[name] = [...(headers[name] ?? []), line.slice(colon + 1).trim()]
  }
  return {
    status,
    headers,
    body: end === -1 ? '' : Buffer.from(out.slice(end + 4), 'latin1').toString('utf8'),
  }
}

/** curl's jar: the Netscape cookie file, one tab-separated cookie a line. */
function parseJar(text: string): JarCookie[] {
  const cookies: JarCookie[] = []
  for (let line of text.split('\n')) {
    const httpOnly = line.startsWith('#HttpOnly_')
    if (httpOnly) line = line.slice('#HttpOnly_'.length)
    else if (line.startsWith('#') || line.trim() === '') continue
    const [domain, , path, secure, , name, value] = line.split('\t')
    if (domain === undefined || name === undefined || value === undefined) continue
    cookies.push({ domain, path: path ?? '', secure: secure === 'TRUE', httpOnly, name, value })
  }
  return cookies
}
