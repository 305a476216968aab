// The command timeout of the download path's Redis reads (sessions, link revocations, token
// records), shared by every read in flight of one connection: one timer for all of them instead
// of a setTimeout, a clearTimeout and a Promise.race per read, which profiles of the download path
// without the session cache showed at about 2-3% of the gateway's CPU. Reads share one timeout, so
// their deadlines come in the order they were sent, and the timer only ever needs to wake for the
// oldest read still unanswered.
//
// A read leaves the queue as soon as it is answered (Redis answers in order, so nearly always
// from the front): an answered read kept until its deadline would keep its request alive for the
// whole timeout, long enough to reach V8's old generation, and measured 13% of the gateway's CPU
// in garbage collection.
// Like redis/command-timeout.ts, our own timer: the client's own was seen not to fire (see there).

/** One read in flight: answered through settle(), or expired by the queue. */
export interface Deadline {
  /** performance.now() after which the read is given up. */
  readonly at: number
  /** Called once if the read expires; dropped once it is answered. */
  expire: (() => void) | undefined
}

export class CommandDeadlines {
  readonly #timeoutMs: number
  /** Reads in the order sent (so in deadline order); the unanswered ones from #head on. */
  readonly #queue: (Deadline | undefined)[] = []
  #head = 0
  #timer: NodeJS.Timeout | undefined

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs
  }

  /** Watches a read sent now: `expire` is called once its time is up, unless settle() came first. */
  watch(expire: () => void): Deadline {
    const d: Deadline = { at: performance.now() + this.#timeoutMs, expire }
    this.#queue.push(d)
    if (this.#timer === undefined) this.#timer = setTimeout(this.#sweep, this.#timeoutMs)
    return d
  }

  /** True if the read was still open, and is now closed: its answer counts. False: it expired. */
  settle(d: Deadline): boolean {
    if (d.expire === undefined) return false
    d.expire = undefined
    this.#dropAnswered()
    return true
  }

  /** Reads watched and neither answered nor expired yet. */
  get open(): number {
    let n = 0
    for (let i = this.#head; i < this.#queue.length; i++) if (this.#queue[i]?.expire) n++
    return n
  }

  #dropAnswered(): void {
    const queue = this.#queue
    let head = this.#head
    while (head < queue.length && queue[head]?.expire === undefined) queue[head++] = undefined
    if (head === queue.length) {
      queue.length = 0
      head = 0
    } else if (head > 1024 && head * 2 > queue.length) {
      // A read answered out of order holds the front back: copy the rest forward now and then.
      queue.splice(0, head)
      head = 0
    }
    this.#head = head
  }

  readonly #sweep = (): void => {
    this.#timer = undefined
    const now = performance.now()
    const queue = this.#queue
    while (this.#head < queue.length) {
      const d = queue[this.#head] as Deadline
      if (d.expire !== undefined && d.at > now) break
      queue[this.#head++] = undefined
      const expire = d.expire
      d.expire = undefined
      expire?.()
    }
    this.#dropAnswered()
    const next = queue[this.#head]
    // An expire() above may have started a read, and with it a timer: one timer is enough.
    if (next === undefined || this.#timer !== undefined) return
    this.#timer = setTimeout(this.#sweep, Math.max(1, next.at - now))
  }
}
