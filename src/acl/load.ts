import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { buildRuleSet } from './build.js'
import { AclCode, problem } from './codes.js'
import { compileFileGlob, FILE_GLOB_CHARS } from './file-glob.js'
import type { AclOptions, AclProblem, AclSource, BuildResult } from './types.js'

// The only file-system side of the ACL engine: turn the configured paths into sources.
// A path is a file, a directory (its *.yaml / *.yml files), or a glob whose last part has `*`, `?`,
// `[...]` or `{a,b}` (e.g. config/acl.d/*.yaml), in the rule language (file-glob.ts). Inside a
// directory or glob, files are taken in byte order of their names: that is the documented merge
// order (name them 10-..., 20-...).

export interface ResolvedPaths {
  readonly files: string[]
  readonly problems: AclProblem[]
}

/** What a directory of ACL files contributes. */
export const YAML_FILE = /\.ya?ml$/

export async function resolveAclPaths(paths: readonly string[]): Promise<ResolvedPaths> {
  const files: string[] = []
  const problems: AclProblem[] = []
  const seen = new Set<string>()
  const add = (file: string): void => {
    if (!seen.has(file)) {
      seen.add(file)
      files.push(file)
    }
  }
  for (const path of paths) {
    if (FILE_GLOB_CHARS.test(basename(path))) {
      const glob = compileFileGlob(basename(path))
      if (!glob.ok) {
        problems.push(problem('error', glob.code, path, 0, '', glob.message))
        continue
      }
      const dir = dirname(path)
      const names = await listDir(dir)
      if (names === null) {
        problems.push(notFound(path, `directory '${dir}' of the pattern does not exist`))
        continue
      }
      const matched = names.filter(glob.matches)
      if (matched.length === 0) problems.push(noFiles(path))
      for (const name of matched) add(join(dir, name))
      continue
    }
    const info = await stat(path).catch(() => null)
    if (info === null) {
      problems.push(notFound(path, `ACL path '${path}' does not exist`))
    } else if (info.isDirectory()) {
      const names = ((await listDir(path)) ?? []).filter((n) => YAML_FILE.test(n))
      if (names.length === 0) problems.push(noFiles(path))
      for (const name of names) add(join(path, name))
    } else add(path)
  }
  return { files, problems }
}

/** Reads every ACL file, then builds; missing or unreadable files are error problems. */
export async function loadRuleSet(paths: readonly string[], options: AclOptions): Promise<BuildResult> {
  const resolved = await resolveAclPaths(paths)
  const sources: AclSource[] = []
  const problems = [...resolved.problems]
  for (const file of resolved.files) {
    try {
      sources.push({ file, text: await readFile(file, 'utf8') })
    } catch (err) {
      problems.push(
        problem('error', AclCode.READ_FAILED, file, 0, '', `cannot read: ${(err as Error).message}`),
      )
    }
  }
  const result = buildRuleSet(sources, options)
  const errors = problems.filter((p) => p.severity === 'error')
  const warnings = problems.filter((p) => p.severity === 'warning')
  if (errors.length > 0) {
    const later = result.ok ? [] : result.errors
    return { ok: false, errors: [...errors, ...later], warnings: [...warnings, ...result.warnings] }
  }
  if (result.ok) return { ...result, warnings: [...warnings, ...result.warnings] }
  return { ok: false, errors: result.errors, warnings: [...warnings, ...result.warnings] }
}

async function listDir(dir: string): Promise<string[] | null> {
  try {
    const entries = await readdir(dir, { withFileTypes: true })
    return entries
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  } catch {
    return null
  }
}

function notFound(path: string, message: string): AclProblem {
  return problem('error', AclCode.PATH_NOT_FOUND, path, 0, '', message)
}

function noFiles(path: string): AclProblem {
  return problem('warning', AclCode.NO_FILES, path, 0, '', `no ACL files (*.yaml, *.yml) in '${path}'`)
}
