// What django-redis keeps for Django's cache and cached_db session backends, the pickled session
// dict, fuzzed through the very function the Django source reads it with: every input gets a
// session or a refusal (GW_ERR_SESSION_UNREADABLE with the decoder's reason), never an exception,
// and a session carrying any code-running or object-building opcode, wherever it sits, is
// refused with the reason that names it: nothing in it is ever evaluated.
import fc from 'fast-check'
import t from 'tap'
import { GW_ERR_SESSION_UNREADABLE } from '../../src/errors.js'
import { PICKLE_REFUSAL_REASONS } from '../../src/session/formats/pickle.js'
import { sessionFromDjangoCache } from '../../src/session/sources/django/django-server-source.js'

const RUNS = Number(process.env.FUZZ_RUNS ?? 1000)

// A session as django.contrib.auth's login() leaves it, pickled as django-redis does
// (pickle.dumps(session, pickle.DEFAULT_PROTOCOL): 4 on Python 3.8+, and 5 with PICKLE_VERSION -1),
// written by Python 3.11:
//   {'_auth_user_id': '1', '_auth_user_backend': 'django.contrib.auth.backends.ModelBackend',
//    '_auth_user_hash': '3f1c...e6d5', 'groups': ['finance', 'staff'], '_session_expiry': 3600}
const SESSION_HEX =
  '95e3000000000000007d94288c0d5f617574685f757365725f6964948c0131948c125f617574685f757365725f6261636b656e64948c29646a616e676f2e636f6e747269622e617574682e6261636b656e64732e4d6f64656c4261636b656e64948c0f5f617574685f757365725f68617368948c4033663163306439653862376136663565346433633262316130396638653764366335623461333932383137663665356434633362326131393038663765366435948c0667726f757073945d94288c0766696e616e6365948c05737461666694658c0f5f73657373696f6e5f657870697279944d100e752e'
const REAL = [4, 5].map((protocol) =>
  Buffer.from(`80${protocol.toString(16).padStart(2, '0')}${SESSION_HEX}`, 'hex'),
)

const WHYS = new Set<string>([...PICKLE_REFUSAL_REASONS, 'not-a-dict'])

function wellFormed(bytes: Uint8Array): boolean {
  const answer = sessionFromDjangoCache(bytes)
  if (Object.getPrototypeOf(answer) === null) return Object.isFrozen(answer)
  const refusal = answer as { ok: boolean; reason: unknown; why?: string }
  return refusal.ok === false && refusal.reason === GW_ERR_SESSION_UNREADABLE && WHYS.has(refusal.why ?? '')
}

t.test('the real values are sessions', async (t) => {
  for (const bytes of REAL) {
    const session = sessionFromDjangoCache(bytes) as Record<string, unknown>
    t.equal(session._auth_user_id, '1')
    t.same(session.groups, ['finance', 'staff'])
  }
})

// A tiny protocol-2 writer: enough to put a hostile value anywhere in a session dict.
const op = (...codes: (number | string | Buffer)[]) =>
  Buffer.concat(
    codes.map((c) =>
      typeof c === 'number' ? Buffer.from([c]) : typeof c === 'string' ? Buffer.from(c, 'latin1') : c,
    ),
  )
const str = (text: string) => {
  const bytes = Buffer.from(text, 'utf8')
  const length = Buffer.alloc(4)
  length.writeUInt32LE(bytes.length)
  return Buffer.concat([Buffer.from('X'), length, bytes])
}
const HOSTILE: readonly [string, Buffer][] = [
  ['pickle-global', op('cos\nsystem\n', str('touch /tmp/x'), 0x85, 'R')],
  ['pickle-global', op(str('builtins'), str('eval'), 0x93, str('1'), 0x85, 'R')],
  ['pickle-global', op('csubprocess\nPopen\n')],
  ['pickle-reduce', op('cdatetime\ndatetime\n', str('not a state'), 0x85, 'R')],
  ['pickle-object', op('}', '}', 'b')],
  ['pickle-object', op('(', 'i', 'os\nsystem\n')],
  ['pickle-object', op('N', ')', 0x81)],
  ['pickle-persistent-id', op(str('id'), 'Q')],
  ['pickle-extension', op(0x82, 0x01)],
  ['unknown-opcode', op(0xff)],
]

/** A session dict whose `key` holds `value` inside `depth` lists. */
function sessionWith(key: string, value: Buffer, depth: number): Buffer {
  let nested = value
  for (let i = 0; i < depth; i++) nested = Buffer.concat([op(']', '('), nested, op('e')])
  return Buffer.concat([
    op(0x80, 0x02, '}', '('),
    str('_auth_user_id'),
    str('1'),
    str(key),
    nested,
    op('u', '.'),
  ])
}

t.test('a hostile value anywhere in the session refuses the whole session, naming why', async (t) => {
  let runs = 0
  fc.assert(
    fc.property(
      fc.constantFrom(...HOSTILE),
      fc.string({ maxLength: 20 }),
      fc.nat({ max: 20 }),
      ([why, hostile], key, depth) => {
        runs++
        const answer = sessionFromDjangoCache(sessionWith(key, hostile, depth)) as {
          ok?: boolean
          why?: string
        }
        return answer.ok === false && answer.why === why
      },
    ),
    { numRuns: RUNS },
  )
  t.equal(runs, RUNS)
})

t.test('the real values mutated, cut, and with hostile opcodes spliced in: always an answer', async (t) => {
  const hostileBytes = HOSTILE.map(([, bytes]) => bytes)
  const mutated = fc
    .tuple(
      fc.constantFrom(...REAL),
      fc.nat(),
      fc.oneof(fc.constantFrom(...hostileBytes), fc.uint8Array({ minLength: 1, maxLength: 4 })),
      fc.constantFrom('insert', 'replace', 'cut'),
    )
    .map(([bytes, at, piece, how]) => {
      const i = at % bytes.length
      if (how === 'cut') return bytes.subarray(0, i)
      const rest = bytes.subarray(how === 'insert' ? i : Math.min(bytes.length, i + piece.length))
      return Buffer.concat([bytes.subarray(0, i), piece, rest])
    })
  t.doesNotThrow(() => fc.assert(fc.property(mutated, wellFormed), { numRuns: RUNS }), 'mutated')
  t.doesNotThrow(
    () => fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), wellFormed), { numRuns: RUNS }),
    'random bytes',
  )
})

t.test('values that are not a dict are no session', async (t) => {
  for (const value of [op(0x80, 0x02, ']', '.'), op(0x80, 0x02, 'N', '.'), op(0x80, 0x02, str('1'), '.')]) {
    t.match(sessionFromDjangoCache(value), { ok: false, why: 'not-a-dict' })
  }
  // django-redis stores an int as its digits, unpickled: that is no session either.
  t.match(sessionFromDjangoCache(Buffer.from('42')), { ok: false, reason: GW_ERR_SESSION_UNREADABLE })
})
