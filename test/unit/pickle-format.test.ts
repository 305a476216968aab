// The pickle decoder on hand-made pickles: the edges Python's own pickler never writes (broken,
// hostile and limit-crossing input), each with the reason it must be refused with.
import t from 'tap'
import { ByteString } from '../../src/session/formats/byte-string.js'
import { type PickleDecodeOptions, type PickleValue, unpickle } from '../../src/session/formats/pickle.js'
import { PyDate, PyDateTime, PyTimedelta, PyTimezone } from '../../src/session/formats/python-datetime.js'

const bytes = (text: string) => Buffer.from(text, 'latin1')
const value = (input: string, options?: PickleDecodeOptions): PickleValue => {
  const result = unpickle(bytes(input), options)
  if (!result.ok) throw new Error(`refused: ${result.reason} at ${result.offset}: ${result.detail}`)
  return result.value
}
const refusal = (input: string | Uint8Array, options?: PickleDecodeOptions) => {
  const result = unpickle(typeof input === 'string' ? bytes(input) : input, options)
  return result.ok ? 'accepted' : result.reason
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n)
  return b.toString('latin1')
}
const u64 = (n: bigint) => {
  const b = Buffer.alloc(8)
  b.writeBigUInt64LE(n)
  return b.toString('latin1')
}

t.test('pickle: a pickle ends with STOP and one value, and nothing after', async (t) => {
  t.equal(value('N.'), null)
  t.equal(refusal(''), 'truncated')
  t.equal(refusal('N'), 'truncated')
  t.equal(refusal('N.N'), 'bad-syntax', 'Python ignores trailing bytes; Python never writes them')
  t.equal(refusal('.'), 'bad-syntax', 'STOP with nothing on the stack')
  t.equal(refusal('NN.'), 'bad-syntax', 'STOP with two values')
  t.equal(refusal('(N.'), 'bad-syntax', 'STOP with a MARK still open')
  t.equal(refusal('\x80\x06N.'), 'unsupported', 'a protocol after 5')
  t.equal(value('\x80\x05N.'), null)
})

t.test('pickle: opcodes that build objects are refused, whatever they name', async (t) => {
  t.equal(refusal('(idatetime\ndate\n.'), 'pickle-object', 'INST')
  t.equal(refusal('(cdatetime\ndate\no.'), 'pickle-object', 'OBJ, on an allowed class')
  t.equal(refusal('\x80\x02cdatetime\ndate\n)\x81.'), 'pickle-object', 'NEWOBJ, on an allowed class')
  t.equal(refusal('\x80\x04cdatetime\ndate\n)}\x92.'), 'pickle-object', 'NEWOBJ_EX')
  t.equal(refusal('}}b.'), 'pickle-object', 'BUILD, even on a plain dict')
})

t.test('pickle: any global but the allowed few is refused where it appears', async (t) => {
  const osSystem = 'cos\nsystem\n(Vecho pwned\ntR.'
  const result = unpickle(bytes(osSystem))
  t.match(result, { ok: false, reason: 'pickle-global', offset: 0, detail: 'global os.system' })
  t.equal(refusal('cposix\nsystem\n(Vecho pwned\ntR.'), 'pickle-global')
  t.equal(refusal('c__builtin__\neval\n(V1\ntR.'), 'pickle-global')
  t.equal(refusal('cbuiltins\ngetattr\n.'), 'pickle-global')
  t.equal(refusal('\x80\x04\x8c\x02os\x8c\x06system\x93.'), 'pickle-global', 'STACK_GLOBAL')
  t.equal(
    refusal('\x80\x04\x8c\x08datetime\x8c\x04date\x93.'),
    'pickle-global',
    'an allowed class as a value',
  )
  t.equal(refusal('\x80\x04K\x01K\x02\x93.'), 'bad-syntax', 'STACK_GLOBAL of ints')
  t.equal(refusal('cdatetime\ndate time\n.'), 'pickle-global', 'a name that is no identifier')
  const evil = unpickle(bytes('c\x1b[31mos\nsystem\n.'))
  t.match(evil, { ok: false, reason: 'pickle-global' })
  if (!evil.ok) t.notOk(evil.detail.includes('\x1b'), 'names in details are made safe to log')
})

t.test('pickle: REDUCE only calls an allowed global, with the arguments Python writes', async (t) => {
  t.equal(refusal('N)R.'), 'pickle-reduce', 'REDUCE of None')
  t.equal(refusal('cdatetime\ndate\nNR.'), 'pickle-reduce', 'arguments not a tuple')
  t.equal(
    refusal('cdatetime\ndate\n(I1\nI2\nI3\ntR.'),
    'pickle-reduce',
    'date(1, 2, 3): not the pickled shape',
  )
  t.equal(refusal('\x80\x03cdatetime\ndate\nC\x04\x07\xe8\x02\x1e\x85R.'), 'pickle-reduce', 'February 30th')
  t.equal(refusal('\x80\x03cdatetime\ndate\nC\x04\x00\x00\x01\x01\x85R.'), 'pickle-reduce', 'year 0')
  t.equal(refusal('\x80\x03cdatetime\ntime\nC\x06\x18\x00\x00\x00\x00\x00\x85R.'), 'pickle-reduce', 'hour 24')
  t.equal(
    refusal('\x80\x03cdatetime\ntimedelta\nK\x00J\x80Q\x01\x00K\x00\x87R.'),
    'pickle-reduce',
    '86400 seconds',
  )
  t.equal(
    refusal('\x80\x03c_codecs\nencode\nX\x01\x00\x00\x00aX\x05\x00\x00\x00utf-8\x86R.'),
    'pickle-reduce',
  )
  t.equal(refusal('\x80\x03cbuiltins\nbytes\nK\x05\x85R.'), 'pickle-reduce', 'bytes(5): not how bytes pickle')
  t.equal(refusal('\x80\x03cpytz\n_UTC\nK\x00\x85R.'), 'pickle-reduce')
  const date = value('\x80\x03cdatetime\ndate\nC\x04\x07\xe8\x02\x1d\x85R.')
  t.ok(date instanceof PyDate && date.isoformat() === '2024-02-29', 'a leap day')
})

t.test('pickle: persistent ids, extension codes and out-of-band buffers are refused', async (t) => {
  t.equal(refusal('Puser-42\n.'), 'pickle-persistent-id')
  t.equal(refusal('\x80\x02K\x01Q.'), 'pickle-persistent-id')
  t.equal(refusal('\x80\x02\x82\xf0.'), 'pickle-extension')
  t.equal(refusal('\x80\x02\x83\xf0\x00.'), 'pickle-extension')
  t.equal(refusal('\x80\x02\x84\xf0\x00\x00\x00.'), 'pickle-extension')
  t.equal(refusal('\x80\x05\x97.'), 'pickle-buffer')
  t.equal(refusal('\x80\x05\x97\x98.'), 'pickle-buffer')
})

t.test('pickle: unknown opcodes are refused', async (t) => {
  for (const opcode of [0x00, 0x20, 0x99, 0xff]) {
    const result = unpickle(Buffer.from([opcode, 0x2e]))
    t.match(result, { ok: false, reason: 'unknown-opcode', offset: 0 }, `0x${opcode.toString(16)}`)
  }
})

t.test('pickle: ints of every opcode, exact', async (t) => {
  t.equal(value('I01\n.'), true, "protocol 0's True")
  t.equal(value('I00\n.'), false)
  t.equal(value('I-17\n.'), -17)
  t.equal(value('L12345678901234567890L\n.'), 12345678901234567890n)
  t.equal(value('L5\n.'), 5, 'a small LONG is a number')
  t.equal(refusal('Iabc\n.'), 'bad-syntax')
  t.equal(refusal('I0x10\n.'), 'bad-syntax')
  t.equal(refusal(`L${'9'.repeat(5000)}\n.`), 'too-large', "more digits than Python's int() takes")
  t.equal(value('\x80\x02\x8a\x00.'), 0, 'LONG1 of no bytes')
  t.equal(value('\x80\x02\x8a\x01\xff.'), -1)
  t.equal(value('\x80\x02\x8a\x02\x00\x80.'), -32768)
  t.equal(value('\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.'), 2n ** 64n)
  t.equal(value(`\x80\x02\x8b${u32(2)}\xff\x7f.`), 32767, 'LONG4')
  t.equal(refusal('\x80\x02\x8b\xff\xff\xff\xff.'), 'bad-syntax', 'LONG4 with a negative length')
  t.equal(refusal(`\x80\x02\x8b${u32(1000)}\x01.`), 'truncated')
  t.equal(value('J\xff\xff\xff\xff.'), -1)
  t.equal(value('M\xff\xff.'), 65535)
})

t.test('pickle: floats', async (t) => {
  t.equal(value('F0.1\n.'), 0.1)
  t.equal(value('Finf\n.'), Number.POSITIVE_INFINITY)
  t.equal(value('F-inf\n.'), Number.NEGATIVE_INFINITY)
  t.ok(Number.isNaN(value('Fnan\n.')))
  t.equal(refusal('F0x1p3\n.'), 'bad-syntax')
  t.equal(value('G\x3f\xf0\x00\x00\x00\x00\x00\x00.'), 1)
})

t.test('pickle: strs', async (t) => {
  t.equal(value('Vcaf\xe9\n.'), 'café', "protocol 0's raw-unicode-escape: latin-1 bytes")
  t.equal(value('V\\u20ac \\U0001f642\n.'), '€ 🙂')
  t.equal(value('V\\\\u0041\n.'), '\\\\u0041', 'an even run of backslashes escapes nothing')
  t.equal(refusal('V\\u12\n.'), 'bad-syntax', 'a broken escape')
  t.equal(refusal('V\\U00110000\n.'), 'bad-syntax', 'beyond Unicode')
  t.equal(refusal('V\\ud800\n.'), 'unsupported', 'a lone surrogate')
  t.equal(
    refusal('\x80\x03X\x03\x00\x00\x00\xed\xa0\x80.'),
    'unsupported',
    "lone surrogate, Python's surrogatepass",
  )
  t.equal(refusal('\x80\x03X\x01\x00\x00\x00\xff.'), 'unsupported', 'not UTF-8')
  t.equal(refusal(`\x80\x03X${u32(100)}abc.`), 'truncated')
  t.equal(refusal(`\x80\x04\x8d${u64(2n ** 63n)}.`), 'truncated', 'an 8-byte length beyond the input')
  t.equal(refusal("S'abc'\n."), 'unsupported', 'Python 2 str')
  t.equal(refusal('U\x03abc.'), 'unsupported')
  t.equal(value('\x80\x03X\x03\x00\x00\x00\xef\xbb\xbf.'), '\ufeff', 'a BOM is kept')
})

t.test('pickle: bytes', async (t) => {
  const b = value('\x80\x03C\x02\x00\xff.')
  t.ok(b instanceof ByteString && b.toHex() === '00ff')
  t.equal(refusal('\x80\x03C\x05ab.'), 'truncated')
  t.equal(refusal('c_codecs\nencode\n(V\\u0100\nVlatin1\ntR.'), 'pickle-reduce', 'a char beyond latin-1')
})

t.test('pickle: dict keys are strs or ints', async (t) => {
  const dict = value('}(K\x01V1a\nVb\nVc\nu.') as Record<string, PickleValue>
  t.equal(Object.getPrototypeOf(dict), null)
  t.strictSame({ ...dict }, { 1: '1a', b: 'c' })
  t.equal(refusal('}(K\x01V\nV1\nV\nu.'), 'unsupported', '1 and "1" in one dict')
  t.equal(refusal('}(\x88V\nu.'), 'unsupported', 'a bool key')
  t.equal(refusal('}()V\nu.'), 'unsupported', 'a tuple key')
  t.equal(refusal('}(V\nu.'), 'bad-syntax', 'a key without a value')
  t.equal(refusal(']N\x88s.'), 'bad-syntax', 'SETITEM on a list')
  t.equal(refusal('}Na.'), 'bad-syntax', 'APPEND on a dict')
  t.equal(refusal(')Na.'), 'bad-syntax', 'APPEND on a tuple')
  const proto = value('}V__proto__\n}Vadmin\n\x88ss.') as Record<string, PickleValue>
  t.ok(Object.hasOwn(proto, '__proto__'), '__proto__ is a key')
  t.equal(({} as Record<string, unknown>).admin, undefined)
})

t.test('pickle: the stack and its marks', async (t) => {
  t.equal(refusal('a.'), 'bad-syntax', 'APPEND on an empty stack')
  t.equal(refusal('](a.'), 'bad-syntax', 'a MARK fences what is below it')
  t.equal(refusal('t.'), 'bad-syntax', 'TUPLE without MARK')
  t.equal(refusal('\x85.'), 'bad-syntax', 'TUPLE1 on an empty stack')
  t.equal(value('N(1.'), null, 'POP_MARK')
  t.equal(value('N(0.'), null, 'POP of a mark with nothing above it, as Python does')
  t.equal(value('NN0.'), null, 'POP')
  t.strictSame(value(']20.'), [], 'DUP')
})

t.test('pickle: the memo', async (t) => {
  t.strictSame(value('\x80\x02(]q\x00K\x01h\x00t.'), [[], 1, []], 'GET returns the stored container')
  t.equal(refusal('h\x05.'), 'bad-reference', 'BINGET of nothing stored')
  t.equal(refusal('g7\n.'), 'bad-reference')
  t.equal(refusal('Np-1\n.'), 'bad-syntax', 'a negative PUT')
  t.equal(refusal('\x80\x04\x94.'), 'bad-syntax', 'MEMOIZE on an empty stack')
  t.equal(refusal('\x80\x02]q\x00h\x00a.'), 'bad-reference', 'a list that contains itself')
  t.equal(refusal('\x80\x02}q\x00K\x01h\x00s.'), 'bad-reference', 'a dict that contains itself')
  const shared = value('\x80\x02]q\x000(h\x00h\x00l.') as PickleValue[]
  t.equal(shared[0], shared[1], 'a shared value is one frozen value')
})

t.test('pickle: the memo cannot multiply a small input into a huge tree', async (t) => {
  // A list of 100 ints, then a list of 2,000 references to it: 202,000 values.
  const inner = `]q\x00(${'K\x01'.repeat(100)}e0`
  const input = `\x80\x02${inner}(${'h\x00'.repeat(2000)}l.`
  t.ok(input.length < 5000)
  t.equal(refusal(input), 'too-large')
  t.equal(refusal(input, { maxElements: 300_000 }), 'accepted', 'it is the element limit that refuses it')
  // Doubling: each list holds the one before twice, 2^40 values from a few hundred bytes.
  const doubling = (levels: number) => {
    let pickle = `\x80\x02]r${u32(0)}0`
    for (let level = 1; level <= levels; level++) {
      pickle += `(j${u32(level - 1)}j${u32(level - 1)}lr${u32(level)}0`
    }
    return `${pickle}j${u32(levels)}.`
  }
  t.equal(refusal(doubling(10)), 'accepted', 'about 2,000 values')
  t.equal(refusal(doubling(40)), 'too-large')
})

t.test('pickle: nesting is limited', async (t) => {
  const nested = (depth: number) => `${']'.repeat(depth)}${'a'.repeat(depth - 1)}.`
  t.equal(refusal(nested(64)), 'accepted')
  t.equal(refusal(nested(65)), 'too-deep')
  t.equal(refusal(nested(10), { maxDepth: 9 }), 'too-deep')
  t.equal(refusal(nested(200_000)), 'too-deep', 'a very deep input does not overflow the stack')
})

t.test('pickle: the input size is limited', async (t) => {
  t.equal(refusal(`\x80\x03X${u32(2000)}${'x'.repeat(2000)}.`, { maxBytes: 1000 }), 'too-large')
  t.equal(refusal('N.', { maxBytes: 2 }), 'accepted')
})

t.test('pickle: frames (protocol 4+)', async (t) => {
  t.equal(value(`\x80\x04\x95${u64(2n)}N.`), null)
  t.strictSame(value(`\x80\x04\x95${u64(3n)}]K\x01\x95${u64(2n)}a.`), [1], 'two frames')
  const between = value(`\x80\x04\x95${u64(1n)}]C\x01x\x95${u64(2n)}a.`) as PickleValue[]
  t.ok(
    between[0] instanceof ByteString && between[0].toHex() === '78',
    'bytes between frames, as Python writes big ones',
  )
  t.equal(refusal(`\x80\x04\x95${u64(100n)}N.`), 'truncated', 'a frame longer than the input')
  t.equal(refusal(`\x80\x04\x95${u64(11n)}\x95${u64(1n)}N.`), 'bad-syntax', 'a frame inside a frame')
  t.equal(refusal(`\x80\x04\x95${u64(2n)}X\x01\x00\x00\x00a.`), 'bad-syntax', 'a value crossing its frame')
  t.equal(refusal(`\x80\x04\x95${u64(2n)}I1\n.`), 'bad-syntax', 'a line crossing its frame')
})

t.test('pickle: datetimes as the app wrote them', async (t) => {
  // datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=5, minutes=30), 'IST')), protocol 3
  const pickled =
    '\x80\x03cdatetime\ndatetime\nC\x0a\x07\xe8\x01\x02\x03\x04\x05\x00\x00\x06' +
    'cdatetime\ntimezone\ncdatetime\ntimedelta\nK\x00M\x58\x4dK\x00\x87RX\x03\x00\x00\x00IST\x86R\x86R.'
  const when = value(pickled)
  t.ok(when instanceof PyDateTime)
  if (!(when instanceof PyDateTime)) return
  t.equal(when.isoformat(), '2024-01-02T03:04:05.000006+05:30')
  t.equal(when.tzinfo?.name, 'IST')
  t.equal(when.epochMilliseconds(), Date.UTC(2024, 0, 1, 21, 34, 5))
  const naive = value('\x80\x03cdatetime\ndatetime\nC\x0a\x00\x01\x01\x01\x00\x00\x00\x00\x00\x00\x85R.')
  t.ok(naive instanceof PyDateTime && naive.epochMilliseconds() === null, 'naive: no instant without a zone')
  t.equal((naive as PyDateTime).isoformat(), '0001-01-01T00:00:00')
  const year5 = new PyDateTime(5, 3, 1, 0, 0, 0, 0, 0, new PyTimezone(new PyTimedelta(0, 0, 0), null))
  t.equal(
    new Date(year5.epochMilliseconds() as number).toISOString(),
    '0005-03-01T00:00:00.000Z',
    'years 0-99',
  )
  const west = new PyTimezone(new PyTimedelta(-1, 86400 - 3723, 999_999), null)
  t.equal(new PyDateTime(2000, 1, 1, 0, 0, 0, 0, 0, west).isoformat(), '2000-01-01T00:00:00-01:02:02.000001')
})
