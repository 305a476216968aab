// A real headless Chromium (Debian's `chromium`) for tests, started as a managed process (stopped
// by its PID, killed with the test process if a test crashes) with a fresh profile, and driven
// over the DevTools protocol with puppeteer-core, which only connects and downloads nothing.
// Every host name but the loopback addresses resolves to nothing, and the background services
// that would phone home are off: the browser only ever talks to the servers the test started.
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer, { type Browser } from 'puppeteer-core'
import { type Managed, spawnManaged } from './process.js'

export interface RunningChromium {
  browser: Browser
  /** Where downloads land (set with Browser.setDownloadBehavior). */
  downloadDir: string
  /** The next download's file name as the browser chose it, once it has completed. */
  nextDownload(timeoutMs?: number): Promise<string>
  pid: number
  stop(): Promise<void>
}

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']

export function findChromium(): string | undefined {
  return CANDIDATES.find((path) => existsSync(path))
}

export async function startChromium(): Promise<RunningChromium> {
  const executable = findChromium()
  if (executable === undefined) throw new Error(`no Chromium at ${CANDIDATES.join(', ')}`)
  const profile = await mkdtemp(join(tmpdir(), 'gw-chromium-'))
  const downloadDir = join(profile, 'downloads')
  let managed: Managed | undefined
  try {
    managed = spawnManaged(executable, [
      '--headless=new',
      // The tests run as root in CI, where Chromium's sandbox cannot start.
      '--no-sandbox',
      '--disable-gpu',
      `--user-data-dir=${profile}`,
      '--remote-debugging-address=127.0.0.1',
      '--remote-debugging-port=0',
      '--no-first-run',
      '--no-default-browser-check',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-domain-reliability',
      '--no-pings',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
      'about:blank',
    ])
    const endpoint = await devtoolsEndpoint(managed)
    const browser = await puppeteer.connect({ browserWSEndpoint: endpoint, defaultViewport: null })
    const session = await browser.target().createCDPSession()
    await session.send('Browser.setDownloadBehavior', {
      behavior: 'allow',
      downloadPath: downloadDir,
      eventsEnabled: true,
    })
    const names = new Map<string, string>()
    const waiting: ((name: string) => void)[] = []
    session.on('Browser.downloadWillBegin', (e) => names.set(e.guid, e.suggestedFilename))
    session.on('Browser.downloadProgress', (e) => {
      if (e.state === 'completed') waiting.shift()?.(names.get(e.guid) ?? '')
    })
    const m = managed
    return {
      browser,
      downloadDir,
      nextDownload: (timeoutMs = 20_000) =>
        new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no download completed')), timeoutMs)
          waiting.push((name) => {
            clearTimeout(timer)
            resolve(name)
          })
        }),
      pid: m.pid,
      async stop() {
        await browser.disconnect().catch(() => {})
        await m.stop('SIGTERM', 5000)
        await rm(profile, { recursive: true, force: true })
      },
    }
  } catch (err) {
    await managed?.stop('SIGKILL', 1000)
    await rm(profile, { recursive: true, force: true })
    throw err
  }
}

/** The browser's DevTools WebSocket URL, which Chromium prints on stderr once it listens. */
async function devtoolsEndpoint(m: Managed): Promise<string> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    const found = /DevTools listening on (ws:\/\/\S+)/.exec(m.output())?.[1]
    if (found) return found
    if (m.hasExited()) throw new Error(`chromium exited: ${m.output().slice(-2000)}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`chromium did not listen within 30 s: ${m.output().slice(-2000)}`)
}
