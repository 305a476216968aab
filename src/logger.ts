// pino, writing through an asynchronous, batching destination (log-destination.ts) so a busy disk or
// pipe never stalls a download decision. JSON lines for machines; for a person at a terminal, one
// readable line per event (log-pretty.ts). Known secret-bearing fields are redacted should anything
// log them.
import pino, { type Logger } from 'pino'
import { LogDestination } from './log-destination.js'
import { type LineWriter, PrettyLines } from './log-pretty.js'

/** `server.log_format` / GATEWAY_LOG_FORMAT. */
export type LogFormat = 'auto' | 'pretty' | 'json'

/** auto: pretty when the log goes to a terminal, JSON otherwise (a pipe, a file, a container log). */
export function resolveLogFormat(format: LogFormat, toTerminal: boolean): 'pretty' | 'json' {
  if (format === 'auto') return toTerminal ? 'pretty' : 'json'
  return format
}

/** Colours only for a terminal that wants them (https://no-color.org). */
export function wantsColour(toTerminal: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return toTerminal && !env.NO_COLOR && env.TERM !== 'dumb'
}

export interface LoggerOptions {
  readonly format?: 'pretty' | 'json'
  readonly colour?: boolean
  /** File descriptor the lines go to. */
  readonly fd?: number
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  // Lines are gathered into writes of 64 KiB, and whatever is gathered is written within 100 ms.
  // flushLogger() writes the rest before any exit the gateway makes itself.
  const destination: LineWriter = new LogDestination(options.fd ?? 1)
  return pino(
    {
      level,
      base: { service: 'download-gateway' },
      redact: {
        paths: [
          'req.headers.cookie',
          'req.headers.authorization',
          'headers.cookie',
          'password',
          '*.password',
          'secrets',
          '*.secrets',
        ],
        censor: '[redacted]',
      },
    },
    options.format === 'pretty' ? new PrettyLines(destination, options.colour ?? false) : destination,
  )
}

/** Writes what is buffered, in order; await it before exiting. */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    try {
      logger.flush(() => resolve())
    } catch {
      resolve() // the destination may already be closed
    }
  })
}

/**
 * What is still buffered, written synchronously: for an exit nobody awaited (process.exit called
 * elsewhere). A chunk already being written asynchronously is left to that write.
 */
export function flushLoggerSync(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    | Partial<LineWriter>
    | undefined
  try {
    stream?.flushSync?.()
  } catch {
    // nowhere left to write to
  }
}
