// Our own timer around a Redis command, not the client's command timeout: that one rides on
// AbortSignal.timeout, whose abort was seen never to fire against a Redis that stopped answering
// (SIGSTOP), which would leave downloads hanging instead of failing closed.
export function withCommandTimeout<T>(command: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)
  })
  return Promise.race([command, expired]).finally(() => clearTimeout(timer))
}
