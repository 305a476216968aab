import { type FSWatcher, watch as fsWatch, statSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { buildRuleSet } from './build.js'
import { compileFileGlob, FILE_GLOB_CHARS } from './file-glob.js'
import { loadRuleSet, YAML_FILE } from './load.js'
import { DEFAULT_POLICY } from './policy.js'
import type { AclOptions, AclProblem, BuildResult, RuleSet } from './types.js'

export interface AclLog {
  info(o: object, m?: string): void
  warn(o: object, m?: string): void
  error(o: object, m?: string): void
}

export const RELOAD_DEBOUNCE_MS = 100

// Until the first load succeeds, refuse everything: failing closed is the only safe default.
const EMPTY = (() => {
  const r = buildRuleSet([], { defaultEffect: 'deny', defaults: DEFAULT_POLICY })
  if (!r.ok) throw new Error('empty rule set cannot fail')
  return r.ruleSet
})()

/**
 * Holds the live rule set. A new set is built aside and swapped in with one assignment, so a
 * request sees either the old or the new set, never a mix; a failed build keeps the old one.
 */
export class AclHolder {
  private live: RuleSet = EMPTY
  // Reloads run one after another so an older build never overwrites a newer one.
  private queue: Promise<unknown> = Promise.resolve()
  private watchers: FSWatcher[] = []
  private timer: NodeJS.Timeout | null = null
  private closed = false
  private readonly reloadListeners: ((ok: boolean, reason: string) => void)[] = []

  constructor(
    private readonly paths: readonly string[],
    private readonly options: AclOptions,
    private readonly log: AclLog,
  ) {}

  get current(): RuleSet {
    return this.live
  }

  /** Told of every load and reload, good (swapped in) or refused (the old set kept). */
  onReload(listener: (ok: boolean, reason: string) => void): void {
    this.reloadListeners.push(listener)
  }

  load(): Promise<BuildResult> {
    return this.reload('initial load')
  }

  reload(reason: string): Promise<BuildResult> {
    const run = this.queue.then(() => this.rebuild(reason))
    this.queue = run.catch(() => undefined)
    return run
  }

  private async rebuild(reason: string): Promise<BuildResult> {
    const result = await loadRuleSet(this.paths, this.options)
    for (const w of result.warnings) this.log.warn(fields(w, reason), w.message)
    if (!result.ok) {
      for (const e of result.errors) this.log.error(fields(e, reason), e.message)
      for (const listener of this.reloadListeners) listener(false, reason)
      return result
    }
    this.live = result.ruleSet
    for (const listener of this.reloadListeners) listener(true, reason)
    this.log.info(
      {
        rules: result.ruleSet.ruleCount,
        files: result.ruleSet.files,
        warnings: result.warnings.length,
        reason,
      },
      'ACL rules loaded',
    )
    return result
  }

  /**
   * Reloads when an ACL file changes. Directories are watched rather than files: editors and
   * deploy tools replace a file by renaming a new one over it, which ends a watch on the old inode.
   */
  watch(): void {
    if (this.closed || this.watchers.length > 0) return
    const filters = new Map<string, ((name: string) => boolean)[]>()
    for (const path of this.paths) {
      const [dir, accept] = watchTarget(path)
      const list = filters.get(dir) ?? []
      list.push(accept)
      filters.set(dir, list)
    }
    for (const [dir, accepts] of filters) {
      try {
        const w = fsWatch(dir, { persistent: false }, (_event, name) => {
          if (name === null || accepts.some((a) => a(String(name)))) this.schedule()
        })
        w.on('error', (err) => this.log.warn({ dir, err: err.message }, 'ACL watch failed'))
        this.watchers.push(w)
      } catch (err) {
        this.log.warn({ dir, err: (err as Error).message }, 'ACL watch failed')
      }
    }
  }

  private schedule(): void {
    if (this.closed) return
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = null
      void this.reload('file change')
    }, RELOAD_DEBOUNCE_MS)
  }

  close(): void {
    this.closed = true
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    for (const w of this.watchers) w.close()
    this.watchers = []
  }
}

function watchTarget(path: string): [string, (name: string) => boolean] {
  const name = basename(path)
  if (FILE_GLOB_CHARS.test(name)) {
    // A glob that does not compile failed the load already, which says why; nothing to watch.
    const glob = compileFileGlob(name)
    return [dirname(path), glob.ok ? glob.matches : () => false]
  }
  const isDir = statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false
  if (isDir) return [path, (n) => YAML_FILE.test(n)]
  return [dirname(path), (n) => n === name]
}

function fields(p: AclProblem, reason: string): object {
  return { code: p.code, file: p.file, line: p.line, field: p.field, reason }
}
