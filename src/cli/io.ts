/** Where a command writes: results to `out`, problems to `err` (standard output and error). */
export interface Io {
  out(line: string): void
  err(line: string): void
}

export type Env = Readonly<Record<string, string | undefined>>

export type Parsed<C> = { ok: true; command: C } | { ok: false; message: string }
