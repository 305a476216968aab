// pino, writing JSON lines through an asynchronous, buffered destination (sonic-boom) so a busy disk
// or pipe never stalls a download decision. Known secret-bearing fields are redacted should anything log them.
import pino, { type Logger } from 'pino'

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
    // Lines are gathered into writes of at least 4 KiB, and whatever is gathered is written at
    // least every 250 ms: one write per line cost a sixth of the gateway's CPU under load.
    // flushLogger() writes the rest on a clean exit; a crash can lose the last 250 ms of lines.
    pino.destination({ dest: destination, sync: false, minLength: 4096, periodicFlush: 250 }),
  )
}

/** Writes what is buffered; call before exiting. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush()
  } catch {
    // the destination may already be closed
  }
}
