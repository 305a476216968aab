// PHP's serialize() format and session handlers: the edges the PHP-written vectors do not reach
// (broken, hostile and limit-crossing input), each with the reason it must be refused with.
import t from 'tap'
import { ByteString } from '../../src/session/formats/byte-string.js'
import { decodePhpSession } from '../../src/session/formats/php-session.js'
import {
  PHP_RECURSION,
  PhpCustomObject,
  PhpObject,
  type PhpValue,
  phpUnserialize,
} from '../../src/session/formats/php-unserialize.js'
import { identityFromSession, readPath } from '../../src/session/session-identity.js'

const value = (input: string | Uint8Array, options?: Parameters<typeof phpUnserialize>[1]): PhpValue => {
  const result = phpUnserialize(input, options)
  if (!result.ok) throw new Error(`refused: ${result.reason} at ${result.offset}: ${result.detail}`)
  return result.value
}
const reason = (input: string | Uint8Array, options?: Parameters<typeof phpUnserialize>[1]) => {
  const result = phpUnserialize(input, options)
  return result.ok ? 'accepted' : result.reason
}

t.test('php: scalars as PHP writes and reads them', async (t) => {
  t.equal(value('N;'), null)
  t.equal(value('b:1;'), true)
  t.equal(value('b:0;'), false)
  t.equal(reason('b:2;'), 'bad-syntax', 'PHP refuses b:2 too')
  t.equal(value('i:-17;'), -17)
  t.equal(value('i:+5;'), 5, 'PHP accepts a plus sign')
  t.equal(value('i:007;'), 7, 'and leading zeros')
  t.equal(value('i:9007199254740993;'), 9007199254740993n, 'beyond 2^53: a bigint, exact')
  t.equal(value('i:-9223372036854775808;'), -9223372036854775808n)
  t.equal(reason('i:9223372036854775808;'), 'bad-syntax', 'beyond 64 bits (PHP would saturate)')
  t.equal(reason(`i:${'0'.repeat(50)}1;`), 'accepted', 'leading zeros do not count as size')
  t.equal(reason('i:;'), 'bad-syntax')
  t.equal(reason('i:12'), 'truncated')
  t.equal(value('d:0.5;'), 0.5)
  t.equal(value('d:.5;'), 0.5)
  t.equal(value('d:5.;'), 5)
  t.equal(value('d:1.0E+25;'), 1e25)
  t.equal(value('d:-1e-7;'), -1e-7)
  t.ok(Object.is(value('d:-0;'), -0))
  t.equal(value('d:INF;'), Number.POSITIVE_INFINITY)
  t.equal(value('d:-INF;'), Number.NEGATIVE_INFINITY)
  t.ok(Number.isNaN(value('d:NAN;')))
  for (const bad of ['d:0x10;', 'd:Infinity;', 'd: 1;', 'd:1e;', 'd:+INF;', 'd:;', 'd:1_0;']) {
    t.equal(reason(bad), 'bad-syntax', bad)
  }
  t.equal(reason(`d:${'1'.repeat(500)};`), 'bad-syntax', 'no float text is that long')
  t.equal(reason('d:1.5'), 'truncated')
})

t.test('php: string lengths count bytes, not characters', async (t) => {
  t.equal(value('s:2:"é";'), 'é')
  t.equal(value(Buffer.from('s:4:"🙂";')), '🙂')
  t.equal(value('s:5:"a";b;";'), 'a";b;', 'quotes and semicolons inside are data')
  t.equal(reason('s:1:"é";'), 'bad-syntax', 'a character length where PHP wrote bytes')
  t.equal(reason('s:3:"é";'), 'bad-syntax')
  t.equal(reason('s:10:"abc";'), 'truncated')
  t.equal(reason('s:99999999999999999999:"a";'), 'truncated')
  t.equal(reason('s:-1:"";'), 'bad-syntax')
  t.equal(reason('s:3:abc;'), 'bad-syntax', 'quotes are required')
  t.equal(reason('S:1:"a";'), 'bad-syntax', "PHP 6's escaped strings are not PHP's output")
  const bytes = value(Buffer.from([0x73, 0x3a, 0x32, 0x3a, 0x22, 0xff, 0x00, 0x22, 0x3b]))
  t.ok(bytes instanceof ByteString, 'bytes that are not UTF-8 stay bytes')
  t.equal((bytes as ByteString).toHex(), 'ff00')
})

t.test('php: arrays become lists or maps, keys as PHP makes them', async (t) => {
  t.strictSame(value('a:2:{i:0;s:1:"a";i:1;s:1:"b";}'), ['a', 'b'])
  t.strictSame(value('a:2:{s:1:"0";i:1;s:1:"1";i:2;}'), [1, 2], 'numeric string keys are int keys in PHP')
  t.strictSame(value('a:0:{}'), [])
  const map = value('a:3:{i:1;s:1:"a";s:1:"x";b:1;i:-1;N;}') as Record<string, PhpValue>
  t.equal(Object.getPrototypeOf(map), null, 'a map has no prototype')
  t.strictSame({ ...map }, { 1: 'a', x: true, '-1': null })
  const repeated = value('a:2:{s:1:"k";i:1;s:1:"k";i:2;}') as Record<string, PhpValue>
  t.equal(repeated.k, 2, 'a repeated key takes the last value, as in PHP')
  t.equal(reason('a:1:{d:1.5;i:1;}'), 'bad-syntax', 'keys are i: or s: only')
  t.equal(reason('a:1:{N;i:1;}'), 'bad-syntax')
  t.equal(reason(Buffer.from('a:1:{s:1:"\xff";i:1;}', 'latin1')), 'unsupported', 'a key that is not UTF-8')
  t.equal(reason('a:2:{i:0;s:9:"123456789";}'), 'bad-syntax', 'fewer elements than announced')
  t.equal(reason('a:2:{i:0;i:1;}'), 'truncated', 'fewer bytes than two elements take')
  t.equal(reason('a:1:{i:0;i:1;i:1;i:2;}'), 'bad-syntax', 'more elements than announced')
  t.equal(reason('a:1:{i:0;i:1;'), 'truncated')
})

t.test('php: a __proto__ key is a key, and pollutes nothing', async (t) => {
  const map = value('a:1:{s:9:"__proto__";a:1:{s:5:"admin";b:1;}}') as Record<string, PhpValue>
  t.ok(Object.hasOwn(map, '__proto__'))
  t.equal(Object.getPrototypeOf(map), null)
  t.equal(({} as Record<string, unknown>).admin, undefined)
})

t.test('php: a huge announced count is refused before anything is allocated', async (t) => {
  t.equal(reason('a:999999999:{'), 'too-large')
  t.equal(reason('a:50000:{i:0;N;}'), 'truncated', 'within the limit, but the input cannot hold it')
  t.equal(reason('O:8:"stdClass":999999999:{'), 'too-large')
  t.equal(reason('a:10:{}', { maxElements: 5 }), 'too-large')
})

t.test('php: nesting is limited', async (t) => {
  const nested = (depth: number) => `${'a:1:{i:0;'.repeat(depth)}N;${'}'.repeat(depth)}`
  t.equal(reason(nested(64)), 'accepted')
  t.equal(reason(nested(65)), 'too-deep')
  t.equal(reason(nested(10), { maxDepth: 9 }), 'too-deep')
  t.equal(reason(nested(100_000)), 'too-deep', 'a very deep input does not overflow the stack')
})

t.test('php: the input size is limited', async (t) => {
  t.equal(reason(`s:2000:"${'x'.repeat(2000)}";`, { maxBytes: 1000 }), 'too-large')
  t.equal(reason('N;', { maxBytes: 2 }), 'accepted')
  t.equal(reason('é'.repeat(600), { maxBytes: 1000 }), 'too-large', 'a string counts its UTF-8 bytes')
})

t.test('php: nothing may follow the value', async (t) => {
  t.equal(reason('N;junk'), 'bad-syntax', 'PHP ignores it; PHP never writes it')
  t.equal(reason(''), 'truncated')
  t.equal(reason('x'), 'bad-syntax')
})

t.test('php: references reuse what was read, numbered as PHP numbers them', async (t) => {
  const shared = value('a:3:{i:0;a:1:{i:0;i:7;}i:1;R:2;i:2;R:3;}') as PhpValue[]
  t.strictSame(shared, [[7], [7], 7])
  t.equal(shared[0], shared[1], 'the same frozen value, not a copy')
  const object = value('a:2:{i:0;O:8:"stdClass":1:{s:1:"n";i:1;}i:1;r:2;}') as PhpValue[]
  t.equal(object[0], object[1])
  t.equal(reason('a:2:{i:0;i:5;i:1;r:2;}'), 'bad-reference', 'r: only names objects (PHP refuses it too)')
  t.equal(reason('a:1:{i:0;R:0;}'), 'bad-reference')
  t.equal(reason('a:1:{i:0;R:9;}'), 'bad-reference')
  t.equal(reason('R:1;'), 'bad-reference', 'nothing to refer to yet')
  t.equal(
    reason('a:2:{i:0;C:11:"ArrayObject":2:{xy}i:1;R:2;}'),
    'bad-reference',
    'after a C: object, PHP numbering depends on its class',
  )
})

t.test('php: a reference to an enclosing container (a cycle) becomes a marker', async (t) => {
  const list = value('a:1:{i:0;a:1:{i:0;R:2;}}') as PhpValue[][]
  t.equal(list[0]?.[0], PHP_RECURSION)
  const object = value('O:8:"stdClass":2:{s:4:"name";s:1:"x";s:4:"self";r:1;}') as PhpObject
  t.equal(object.properties.self, PHP_RECURSION)
  t.equal(object.properties.name, 'x', 'the rest stays readable')
})

t.test('php: references cannot multiply a small input into a huge tree', async (t) => {
  // 101 values, then 2,000 references to them: 202,000 values for whoever walks the result.
  const inner = `a:100:{${Array.from({ length: 100 }, (_, i) => `i:${i};i:${i};`).join('')}}`
  const refs = Array.from({ length: 2000 }, (_, i) => `i:${i + 1};R:2;`).join('')
  const input = `a:2001:{i:0;${inner}${refs}}`
  t.ok(input.length < 30_000)
  t.equal(reason(input), 'too-large')
  t.equal(reason(input, { maxElements: 300_000 }), 'accepted', 'it is the element limit that refuses it')
  // Doubling: each level refers twice to the one before, 2^40 values from a few hundred bytes.
  // Value 1 is the outer array, value k + 2 the array of level k (R: takes no number).
  const doubling = (levels: number) => {
    let input = `a:${levels + 1}:{i:0;a:0:{}`
    for (let level = 1; level <= levels; level++)
      input += `i:${level};a:2:{i:0;R:${level + 1};i:1;R:${level + 1};}`
    return `${input}}`
  }
  t.equal(reason(doubling(10)), 'accepted', 'about 4,000 values')
  t.equal(reason(doubling(40)), 'too-large')
})

t.test('php: objects are data, never instances', async (t) => {
  const gadget = value(
    'O:6:"Gadget":2:{s:7:"command";s:10:"echo pwned";s:13:"\u0000Gadget\u0000armed";b:1;}',
  ) as PhpObject
  t.ok(gadget instanceof PhpObject)
  t.equal(gadget.className, 'Gadget')
  t.equal(gadget.properties.command, 'echo pwned')
  t.equal(gadget.properties['\0Gadget\0armed'], true, 'private names as (array)$obj gives them')
  t.ok(Object.isFrozen(gadget) && Object.isFrozen(gadget.properties))
  const custom = value('C:11:"ArrayObject":5:{x;i:0}') as PhpCustomObject
  t.ok(custom instanceof PhpCustomObject)
  t.equal(custom.payload, 'x;i:0', 'the class-specific payload is not read')
  t.equal(reason('O:3:"a b":0:{}'), 'bad-syntax', 'not a class name')
  t.equal(reason('O:0:"":0:{}'), 'bad-syntax')
  t.equal(reason('E:4:"Suit";'), 'bad-syntax', 'an enum case names a class and a case')
  t.equal(reason('E:6:"Suit:1";'), 'bad-syntax')
  t.equal(reason('C:3:"Foo":9:{x}'), 'truncated')
})

t.test("php: objects: 'refuse' refuses every kind of object", async (t) => {
  for (const input of [
    'O:8:"stdClass":0:{}',
    'C:3:"Foo":0:{}',
    'E:8:"Suit:Ace";',
    'a:1:{i:0;O:1:"A":0:{}}',
  ]) {
    t.equal(reason(input, { objects: 'refuse' }), 'php-object', input)
    t.equal(reason(input), 'accepted', `${input}: inert by default`)
  }
})

t.test('php: a JavaScript string is read as UTF-8', async (t) => {
  t.equal(value('s:2:"é";'), 'é')
  t.strictSame(value('a:1:{i:0;s:3:"€";}'), ['€'])
})

t.test('php: refusals say where, and quote no session data', async (t) => {
  const result = phpUnserialize('a:1:{s:6:"secret";s:5:"tok3n"')
  t.match(result, { ok: false, reason: 'truncated' })
  if (!result.ok) {
    t.ok(result.offset > 0 && result.offset <= 30)
    t.notMatch(result.detail, /secret|tok3n/)
  }
  t.ok(Object.isFrozen(result))
})

t.test('php session: the three handlers', async (t) => {
  const php = decodePhpSession('user_id|i:42;roles|a:1:{i:0;s:5:"admin";}', 'php')
  t.strictSame(php, {
    ok: true,
    value: Object.assign(Object.create(null), { user_id: 42, roles: ['admin'] }),
  })
  const serialized = decodePhpSession('a:1:{s:7:"user_id";i:42;}', 'php_serialize')
  t.match(serialized, { ok: true, value: { user_id: 42 } })
  const binary = decodePhpSession(Buffer.from('\x07user_idi:42;', 'latin1'), 'php_binary')
  t.match(binary, { ok: true, value: { user_id: 42 } })
  for (const handler of ['php', 'php_serialize', 'php_binary'] as const) {
    const empty = decodePhpSession('', handler)
    t.ok(empty.ok && Object.keys(empty.value).length === 0, `${handler}: empty data is an empty session`)
  }
})

t.test('php session: references are numbered across variables', async (t) => {
  const result = decodePhpSession('a|a:2:{i:0;i:1;i:1;i:2;}b|R:1;c|R:3;', 'php')
  t.ok(result.ok)
  if (result.ok) {
    t.strictSame(result.value.b, [1, 2])
    t.equal(result.value.c, 2)
  }
})

t.test('php session: broken session data is refused', async (t) => {
  const refusal = (input: string | Uint8Array, handler: 'php' | 'php_serialize' | 'php_binary') => {
    const result = decodePhpSession(input, handler)
    return result.ok ? 'accepted' : result.reason
  }
  t.equal(refusal('a|i:1;junk', 'php'), 'bad-syntax', 'PHP ignores trailing bytes; PHP never writes them')
  t.equal(refusal('a|i:1', 'php'), 'truncated')
  t.equal(refusal('a|', 'php'), 'truncated')
  t.equal(refusal(Buffer.from('\xff|i:1;', 'latin1'), 'php'), 'unsupported', 'a name that is not UTF-8')
  t.equal(refusal('i:1;', 'php_serialize'), 'bad-syntax', 'php_serialize holds one array')
  t.equal(refusal('a:0:{}a:0:{}', 'php_serialize'), 'bad-syntax')
  t.equal(refusal('\x09user', 'php_binary'), 'truncated')
  t.equal(refusal('\x04user', 'php_binary'), 'truncated', 'a value must follow the name')
  t.equal(refusal('a|O:1:"A":0:{}', 'php'), 'accepted')
  const strict = decodePhpSession('a|O:1:"A":0:{}', 'php', { objects: 'refuse' })
  t.match(strict, { ok: false, reason: 'php-object' })
  const repeated = decodePhpSession('a|i:1;a|i:2;', 'php')
  t.match(repeated, { ok: true, value: { a: 2 } }, 'a repeated name takes the last value, as in PHP')
})

t.test("php_binary: the length byte's old 'unset' bit is ignored, as PHP 7+ does", async (t) => {
  t.match(decodePhpSession(Buffer.from('\x81ai:1;', 'latin1'), 'php_binary'), { ok: true, value: { a: 1 } })
})

t.test('php session: the gateway reads the user from it, objects and all', async (t) => {
  const stored =
    'user_id|i:42;roles|a:2:{i:0;s:5:"admin";i:1;s:5:"staff";}' +
    'user|O:4:"User":1:{s:2:"id";s:2:"42";}gadget|O:6:"Gadget":1:{s:3:"cmd";s:2:"rm";}'
  const result = decodePhpSession(stored, 'php')
  t.ok(result.ok)
  if (!result.ok) return
  t.strictSame(identityFromSession(result.value, ['user_id'], ['roles']), {
    user: '42',
    groups: ['admin', 'staff'],
  })
  t.equal(
    readPath(result.value, ['user', 'properties', 'id']),
    '42',
    'object properties are reachable as data',
  )
})
