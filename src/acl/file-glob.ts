// Which files of a folder an `acl.paths` glob selects. The glob is written in the rule language of
// pattern.ts (`*`, `?`, `[...]`, `{a,b}`), so an operator learns one syntax, not two; it is
// compiled by the same code and matched by the same matcher, as a path of one segment: the file
// name. What cannot mean anything for one folder's files is refused at load: `**` (folders
// below) and the `{user}` / `{group}` placeholders (there is no requester when files are read).
import { AclCode, type AclCodeValue } from './codes.js'
import { segMatches } from './matcher.js'
import { compilePattern, GLOBSTAR, GROUP, type Seg, USER } from './pattern.js'
import type { Subject } from './types.js'

/** A configured path is a glob when its last part holds one of these. */
export const FILE_GLOB_CHARS = /[*?[{]/

export type FileGlobResult =
  | { readonly ok: true; readonly matches: (name: string) => boolean }
  | { readonly ok: false; readonly code: AclCodeValue; readonly message: string }

// Placeholders are refused, so no segment ever consults the subject.
const NOBODY: Subject = { user: null, groups: [] }

/** Compiles the file-name glob `glob` (the last part of a configured path, no `/`). */
export function compileFileGlob(glob: string): FileGlobResult {
  const compiled = compilePattern(`/${glob}`)
  if (!compiled.ok) return { ok: false, code: compiled.code, message: `'${glob}': ${compiled.message}` }
  for (const p of compiled.patterns) {
    const kinds = p.segs.map((s) => s.kind)
    if (kinds.includes(GLOBSTAR))
      return bad(`'${glob}': '**' would take folders below; list each folder in acl.paths instead`)
    if (kinds.includes(USER) || kinds.includes(GROUP))
      return bad(`'${glob}': {user} and {group} match requests, not files`)
    if (p.segs.length !== 1) return bad(`'${glob}': a file glob cannot hold '/'`)
  }
  // Each alternative is one segment, so the one-segment case of the matcher is all it takes.
  const segs = compiled.patterns.map((p) => p.segs[0] as Seg)
  return {
    ok: true,
    // Compared in NFC, as request paths are: a name a macOS disk stores decomposed still matches.
    matches: (name) => {
      const nfc = name.normalize('NFC')
      for (const s of segs) if (segMatches(s, nfc, NOBODY)) return true
      return false
    },
  }
}

function bad(message: string): FileGlobResult {
  return { ok: false, code: AclCode.BAD_PATTERN, message }
}
