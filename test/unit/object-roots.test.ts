// delivery.roots: the config refuses what cannot be served safely (with file, line and field), and
// a path goes to the root with the longest prefix it lies under, whole folders only.
import t from 'tap'
import { redactedConfig } from '../../src/config/gateway-config.js'
import { parseConfig } from '../../src/config/load-config.js'
import { ConfigError } from '../../src/config/problems.js'
import { OBJECT_STORAGE_PREFIX, objectAccelReplyHeaders } from '../../src/delivery/object-accel.js'
import { chooseObjectRoot, type ObjectRoot } from '../../src/delivery/object-roots.js'

const FILE = '/etc/gw/gateway.yaml'
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'
const ENV = {
  GATEWAY_S3_ARCHIVE_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  GATEWAY_S3_ARCHIVE_SECRET_ACCESS_KEY: SECRET,
  GATEWAY_S3_MEDIA_ACCESS_KEY_ID: 'AKIAMEDIA',
  GATEWAY_S3_MEDIA_SECRET_ACCESS_KEY: SECRET,
}

function configWith(roots: string, delivery = 'mode: x-accel'): string {
  return `delivery:
  ${delivery}
  files_root: /srv/files
  roots:
${roots}
session:
  store: memory
acl:
  paths: [acl.d]
`
}

const ARCHIVE = `    - name: archive
      prefix: archive/
      s3:
        bucket: my-archive
        region: eu-west-1
`

function problemsOf(text: string, env: Record<string, string> = ENV) {
  try {
    parseConfig(FILE, text, env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  throw new Error('expected a ConfigError')
}

t.test('a bucket root: AWS endpoint for the region, virtual-hosted by default', async (t) => {
  const config = parseConfig(FILE, configWith(ARCHIVE), ENV)
  const [root] = config.delivery.roots
  t.equal(root?.host, 'my-archive.s3.eu-west-1.amazonaws.com')
  t.equal(root?.protocol, 'https:')
  t.equal(root?.pathBase, '')
  t.same(root?.prefix, ['archive'])
  t.equal(root?.expiresSeconds, 60)
  t.equal(root?.credentials.sessionToken, undefined)
  t.same(
    parseConfig(FILE, configWith(''.padEnd(0)).replace('  roots:\n', ''), {}).delivery.roots,
    [],
    'none by default',
  )
})

t.test('path style on an endpoint of its own (MinIO), credentials from files, a session token', async (t) => {
  const text = configWith(`    - name: media
      prefix: media/video/
      s3:
        bucket: media.example
        endpoint: http://minio:9000
        addressing: path
        key_prefix: v/
        access_key_id: FROM-THE-FILE
`)
  const config = parseConfig(FILE, text, {
    GATEWAY_S3_MEDIA_SECRET_ACCESS_KEY: SECRET,
    GATEWAY_S3_MEDIA_SESSION_TOKEN: 'a-token',
  })
  const [root] = config.delivery.roots
  t.equal(root?.host, 'minio:9000')
  t.equal(root?.pathBase, '/media.example')
  t.equal(root?.keyPrefix, 'v/')
  t.equal(root?.credentials.accessKeyId, 'FROM-THE-FILE')
  t.equal(root?.credentials.sessionToken, 'a-token')
  const logged = JSON.stringify(redactedConfig(config))
  t.notOk(logged.includes(SECRET), 'the secret key is never in what may be logged')
  t.notOk(logged.includes('a-token'), 'nor the session token')
  t.ok(logged.includes('FROM-THE-FILE'), 'the key id is not a secret')
})

t.test('bad roots are refused with file, line and field', async (t) => {
  const cases: [title: string, roots: string, field: string, line: number, message: RegExp][] = [
    [
      'a traversal in the prefix',
      ARCHIVE.replace('archive/', 'archive/../etc/'),
      'delivery.roots[0].prefix',
      6,
      /dot-segment/,
    ],
    [
      'a leading slash',
      ARCHIVE.replace('archive/', '/archive/'),
      'delivery.roots[0].prefix',
      6,
      /no leading/,
    ],
    ['no trailing slash', ARCHIVE.replace('archive/', 'archive'), 'delivery.roots[0].prefix', 6, /ending in/],
    [
      'an empty segment',
      ARCHIVE.replace('archive/', 'a//b/'),
      'delivery.roots[0].prefix',
      6,
      /empty-segment/,
    ],
    ['a backslash', ARCHIVE.replace('archive/', 'a\\\\b/'), 'delivery.roots[0].prefix', 6, /backslash/],
    ['decomposed accents', ARCHIVE.replace('archive/', 'cafe\u0301/'), 'delivery.roots[0].prefix', 6, /NFC/],
    [
      'an endpoint with a path',
      `${ARCHIVE}        endpoint: https://s3.example.com/bucket\n`,
      'delivery.roots[0].s3.endpoint',
      10,
      /no path/,
    ],
    [
      'a dotted bucket virtual-hosted over TLS',
      ARCHIVE.replace('my-archive', 'my.archive'),
      'delivery.roots[0].s3.addressing',
      8,
      /addressing: path/,
    ],
    [
      'a bucket name S3 would refuse',
      ARCHIVE.replace('my-archive', 'My_Archive'),
      'delivery.roots[0].s3.bucket',
      8,
      /pattern/,
    ],
    [
      'a name that cannot be a variable',
      ARCHIVE.replace('name: archive', 'name: my-archive'),
      'delivery.roots[0].name',
      5,
      /pattern/,
    ],
    [
      'two roots with one name',
      `${ARCHIVE}${ARCHIVE.replace('archive/', 'other/')}`,
      'delivery.roots[1].name',
      10,
      /named "archive"/,
    ],
    [
      'two roots with one prefix',
      `${ARCHIVE}${ARCHIVE.replace('name: archive', 'name: media')}`,
      'delivery.roots[1].prefix',
      11,
      /same prefix/,
    ],
  ]
  for (const [title, roots, field, line, message] of cases) {
    const problems = problemsOf(configWith(roots))
    t.match(problems, [{ file: FILE, field, line, message }], title)
  }
})

t.test('a root without its secret key, in direct mode, or over the internal prefix is refused', async (t) => {
  t.match(problemsOf(configWith(ARCHIVE), { GATEWAY_S3_ARCHIVE_ACCESS_KEY_ID: 'AKIA' }), [
    { field: 'delivery.roots[0].s3', line: 8, message: /GATEWAY_S3_ARCHIVE_SECRET_ACCESS_KEY/ },
  ])
  t.match(problemsOf(configWith(ARCHIVE, 'mode: direct')), [
    { field: 'delivery.roots', line: 5, message: /x-accel/ },
  ])
  t.match(problemsOf(configWith(ARCHIVE, `internal_prefix: ${OBJECT_STORAGE_PREFIX}\n  mode: x-accel`)), [
    { field: 'delivery.internal_prefix', line: 2 },
  ])
  const missingFile = problemsOf(configWith(ARCHIVE), {
    GATEWAY_S3_ARCHIVE_ACCESS_KEY_ID: 'AKIA',
    GATEWAY_S3_ARCHIVE_SECRET_ACCESS_KEY_FILE: '/nonexistent/secret',
  })
  t.match(missingFile, [
    { field: 'delivery.roots[0].s3' },
    { field: 'GATEWAY_S3_ARCHIVE_SECRET_ACCESS_KEY_FILE' },
  ])
})

function root(name: string, prefix: string[]): ObjectRoot {
  return {
    name,
    prefix,
    bucket: 'b',
    protocol: 'http:',
    host: '127.0.0.1:9000',
    pathBase: '/b',
    region: 'us-east-1',
    keyPrefix: `${name}/`,
    expiresSeconds: 60,
    credentials: { accessKeyId: 'AK', secretAccessKey: SECRET, sessionToken: undefined },
  }
}

t.test('the longest prefix wins, whole folders only, either spelling of an accent', async (t) => {
  // Longest first, as the config sorts them.
  const roots = [root('deep', ['media', 'video']), root('media', ['media']), root('cafe', ['caf\u00e9'])]
  t.equal(chooseObjectRoot(roots, ['media', 'video', 'a.mp4'])?.root.name, 'deep')
  t.equal(chooseObjectRoot(roots, ['media', 'video', 'a.mp4'])?.key, 'deep/a.mp4')
  t.equal(chooseObjectRoot(roots, ['media', 'videos', 'a.mp4'])?.key, 'media/videos/a.mp4')
  t.equal(chooseObjectRoot(roots, ['media', 'x.png'])?.root.name, 'media')
  t.equal(chooseObjectRoot(roots, ['media']), undefined, 'a file named like the folder stays on disk')
  t.equal(chooseObjectRoot(roots, ['mediaeval', 'x']), undefined, 'not a prefix of a longer name')
  t.equal(chooseObjectRoot(roots, ['Media', 'x']), undefined, 'case counts')
  t.equal(chooseObjectRoot(roots, ['cafe\u0301', 'menu.pdf'])?.root.name, 'cafe', 'NFD reaches the NFC root')
  t.equal(chooseObjectRoot(roots, ['cafe\u0301', 'menu.pdf'])?.key, 'cafe/menu.pdf')
})

t.test('the reply for a bucket file: X-Accel-Redirect last, the URL just before it', async (t) => {
  const chosen = chooseObjectRoot([root('media', ['media'])], ['media', 'a b', 'x?.pdf'])
  if (chosen === undefined) throw new Error('no root chosen')
  const policy = { disposition: 'attachment' as const, limitRate: 0, cacheControl: 'private, no-store' }
  const headers = objectAccelReplyHeaders(chosen, ['media', 'a b', 'x?.pdf'], policy, 'GET', new Date())
  const names = headers.filter((_, i) => i % 2 === 0)
  t.same(names.slice(-2), ['x-download-object-url', 'x-accel-redirect'])
  t.equal(headers.at(-1), `/${OBJECT_STORAGE_PREFIX}/media/a%20b/x%3F.pdf`)
  t.match(headers.at(-3), /^http:\/\/127\.0\.0\.1:9000\/b\/media\/a%20b\/x%3F\.pdf\?X-Amz-Algorithm=/)
  t.notOk(
    headers.some((h) => h.includes(SECRET)),
    'the secret key is in no header',
  )
})
