// pino, writing JSON lines through an asynchronous destination (sonic-boom) so a busy disk or pipe never
// stalls a download decision. Known secret-bearing fields are redacted should anything log them.
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
    pino.destination({ dest: destination, sync: false }),
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
