// `delivery.roots`: folders of the download tree served from S3-compatible buckets instead of the
// files root on disk. Kept apart from schema.ts and load-config.ts so those only wire it in. The
// secrets of a root never come from the config file: GATEWAY_S3_<NAME>_SECRET_ACCESS_KEY (or its
// _FILE form, and the same for _ACCESS_KEY_ID and _SESSION_TOKEN), NAME being the root's name in
// upper case.
import { OBJECT_STORAGE_PREFIX } from '../delivery/object-accel.js'
import type { ObjectRoot } from '../delivery/object-roots.js'
import { canonicalizeRequestPath } from '../paths/canonical-path.js'
import type { ConfigProblem } from './problems.js'
import { fieldName } from './schema-check.js'
import type { YamlSource } from './yaml-source.js'

export const rootsSchema = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'prefix', 's3'],
    properties: {
      // Also part of the environment variables' names, hence no '-'.
      name: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,31}$' },
      // Checked in code: a canonical folder path, ending in '/'.
      prefix: { type: 'string', minLength: 2 },
      s3: {
        type: 'object',
        additionalProperties: false,
        required: ['bucket'],
        properties: {
          // S3's naming rules (lower case, digits, '.', '-', 3 to 63 characters).
          bucket: { type: 'string', pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' },
          region: { type: 'string', pattern: '^[a-z0-9-]+$', default: 'us-east-1' },
          // No default here: without one, AWS's regional endpoint (https://s3.<region>.amazonaws.com).
          endpoint: { type: 'string', pattern: '^https?://' },
          addressing: { enum: ['virtual', 'path'], default: 'virtual' },
          key_prefix: { type: 'string', default: '' },
          // Not a secret; GATEWAY_S3_<NAME>_ACCESS_KEY_ID wins when both are set.
          access_key_id: { type: 'string', minLength: 1 },
          // S3 checks the signature when the request starts, never during the transfer: this only
          // bounds how long a URL copied out of nginx's logs stays usable.
          presign_expires_s: { type: 'integer', minimum: 1, maximum: 604800, default: 60 },
        },
      },
    },
  },
  default: [],
} as const

interface RawRoot {
  name: string
  prefix: string
  s3: {
    bucket: string
    region: string
    endpoint?: string
    addressing: 'virtual' | 'path'
    key_prefix: string
    access_key_id?: string
    presign_expires_s: number
  }
}

/** The three variables of a root, `NAME` without `_FILE`. */
export function rootVariables(name: string): {
  accessKeyId: string
  secretAccessKey: string
  sessionToken: string
} {
  const stem = `GATEWAY_S3_${name.toUpperCase()}`
  return {
    accessKeyId: `${stem}_ACCESS_KEY_ID`,
    secretAccessKey: `${stem}_SECRET_ACCESS_KEY`,
    sessionToken: `${stem}_SESSION_TOKEN`,
  }
}

/**
 * The checked roots, longest prefix first (the order chooseObjectRoot relies on), or every problem
 * found. `readSecret(NAME)` reads NAME or the file NAME_FILE names, as for every other secret.
 */
export function objectRootsFrom(
  raw: readonly RawRoot[],
  delivery: { mode: string; internalPrefix: string },
  source: YamlSource,
  readSecret: (name: string) => string | undefined,
): { roots: ObjectRoot[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = []
  const problem = (path: (string | number)[], message: string) =>
    problems.push({ file: source.file, line: source.lineOf(path), field: fieldName(path), message })
  if (raw.length === 0) return { roots: [], problems }
  if (delivery.mode !== 'x-accel') {
    problem(
      ['delivery', 'roots'],
      'bucket roots need x-accel mode: in direct mode the gateway reads files on disk only',
    )
  }
  if (delivery.internalPrefix === OBJECT_STORAGE_PREFIX) {
    problem(
      ['delivery', 'internal_prefix'],
      `"${OBJECT_STORAGE_PREFIX}" is the bucket roots' location in nginx: choose another`,
    )
  }
  const roots: ObjectRoot[] = []
  const names = new Set<string>()
  const prefixes = new Map<string, number>()
  raw.forEach((entry, index) => {
    const at = (...path: (string | number)[]) => ['delivery', 'roots', index, ...path]
    if (names.has(entry.name)) problem(at('name'), `another root is named "${entry.name}" already`)
    names.add(entry.name)
    const prefix = canonicalPrefix(entry.prefix)
    if (typeof prefix === 'string') {
      problem(at('prefix'), prefix)
      return
    }
    const joined = prefix.join('/')
    const earlier = prefixes.get(joined)
    if (earlier !== undefined) problem(at('prefix'), `delivery.roots[${earlier}] has the same prefix`)
    prefixes.set(joined, index)
    const place = endpointOf(entry.s3)
    if (typeof place === 'string') {
      problem(at('s3', entry.s3.endpoint === undefined ? 'addressing' : 'endpoint'), place)
      return
    }
    const variables = rootVariables(entry.name)
    const accessKeyId = readSecret(variables.accessKeyId) ?? entry.s3.access_key_id
    const secretAccessKey = readSecret(variables.secretAccessKey)
    if (accessKeyId === undefined || secretAccessKey === undefined) {
      const missing = [
        ...(accessKeyId === undefined ? [`${variables.accessKeyId} (or s3.access_key_id)`] : []),
        ...(secretAccessKey === undefined
          ? [`${variables.secretAccessKey} (or ${variables.secretAccessKey}_FILE)`]
          : []),
      ]
      problem(at('s3'), `needs ${missing.join(' and ')} in the environment`)
      return
    }
    roots.push({
      name: entry.name,
      prefix,
      bucket: entry.s3.bucket,
      protocol: place.protocol,
      host: place.host,
      pathBase: place.pathBase,
      region: entry.s3.region,
      keyPrefix: entry.s3.key_prefix,
      expiresSeconds: entry.s3.presign_expires_s,
      credentials: { accessKeyId, secretAccessKey, sessionToken: readSecret(variables.sessionToken) },
    })
  })
  roots.sort((a, b) => b.prefix.length - a.prefix.length)
  return { roots, problems }
}

/**
 * The prefix's segments, or why it is refused: it must read as a folder of the download tree
 * exactly as the request path is read (no '.', '..', empty segment, backslash or control
 * character), end in '/', and be written in Unicode NFC, the form rules and roots are compared in.
 */
function canonicalPrefix(prefix: string): readonly string[] | string {
  const rule = 'must be a folder path like "archive/" or "media/video/": no leading "/", ending in "/"'
  if (prefix.startsWith('/') || !prefix.endsWith('/')) return rule
  const written = prefix.slice(0, -1).split('/')
  const canonical = canonicalizeRequestPath(`/${written.map((s) => encodeURIComponent(s)).join('/')}`, '/')
  if (!canonical.ok) return `${rule} (${canonical.reason})`
  if (prefix.normalize('NFC') !== prefix) return 'must be written in Unicode NFC (composed accents)'
  return canonical.segments
}

/** Where requests for the bucket go, or why the settings cannot make a URL. */
function endpointOf(
  s3: RawRoot['s3'],
): { protocol: 'http:' | 'https:'; host: string; pathBase: string } | string {
  const endpoint = s3.endpoint ?? `https://s3.${s3.region}.amazonaws.com`
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return 'is not a URL'
  }
  if (
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username !== '' ||
    url.password !== ''
  )
    return 'must be scheme, host and port only (no path, query or credentials)'
  const protocol = url.protocol as 'http:' | 'https:'
  if (s3.addressing === 'path') return { protocol, host: url.host, pathBase: `/${s3.bucket}` }
  // A certificate for *.s3.<region>.amazonaws.com covers one label: a bucket named a.b breaks TLS.
  if (protocol === 'https:' && s3.bucket.includes('.'))
    return `bucket "${s3.bucket}" has a "." and cannot be reached over TLS in virtual-hosted style: set addressing: path`
  return { protocol, host: `${s3.bucket}.${url.host}`, pathBase: '' }
}
