// pino, writing JSON lines through an asynchronous, batching destination (log-destination.ts) so a
// busy disk or pipe never stalls a download decision. Known secret-bearing fields are redacted
// should anything log them.
import pino, { type Logger } from 'pino'
import { LogDestination } from './log-destination.js'

export function createLogger(level: string, destination = 1): Logger {
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
    // Lines are gathered into writes of 64 KiB, and whatever is gathered is written within 100 ms.
    // flushLogger() writes the rest on a clean exit; a crash can lose the last 100 ms of lines.
    new LogDestination(destination),
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
