// A PHP session's stored data ($_SESSION), in each of the formats `session.serialize_handler` names:
//   php            name|<value>name2|<value>...   (PHP's default)
//   php_serialize  one serialize()d array
//   php_binary     <length byte>name<value>...
// The files handler and phpredis both store exactly these bytes. Values are decoded as
// php-unserialize.ts does, and references are numbered across the whole session as PHP does.
// Stricter than PHP in one way: PHP ignores bytes it cannot read after the last variable, and here
// they refuse the session, since PHP never writes them.
import type { DecodeResult } from './format-result.js'
import { FormatRefusal, runDecoder } from './format-result.js'
import {
  type PhpDecodeOptions,
  type PhpMap,
  type PhpRefusalReason,
  type PhpValue,
  PhpValueReader,
  toPhpMap,
  utf8OrUndefined,
} from './php-unserialize.js'

export type PhpSerializeHandler = 'php' | 'php_serialize' | 'php_binary'
export const PHP_SERIALIZE_HANDLERS: readonly PhpSerializeHandler[] = Object.freeze([
  'php',
  'php_serialize',
  'php_binary',
])

/** The session's variables by name, frozen, without prototype. */
export type PhpSession = PhpMap

const PIPE = 0x7c
// php_binary: the high bit of the length byte once meant "unset"; PHP 7+ masks it off and reads on.
const BINARY_NAME_LENGTH_MASK = 0x7f

export function decodePhpSession(
  input: Uint8Array | string,
  handler: PhpSerializeHandler,
  options?: PhpDecodeOptions,
): DecodeResult<PhpSession, PhpRefusalReason> {
  return runDecoder(() => {
    const reader = PhpValueReader.open(input, options)
    if (reader.atEnd) return toPhpMap(new Map())
    switch (handler) {
      case 'php':
        return readNamedValues(reader, readPipeName)
      case 'php_binary':
        return readNamedValues(reader, readLengthPrefixedName)
      case 'php_serialize':
        return readSerializedArray(reader)
    }
  })
}

function readNamedValues(reader: PhpValueReader, readName: (reader: PhpValueReader) => string): PhpSession {
  const variables = new Map<string, PhpValue>()
  while (!reader.atEnd) {
    const name = readName(reader)
    variables.set(name, reader.readValue())
  }
  return toPhpMap(variables)
}

function readPipeName(reader: PhpValueReader): string {
  const start = reader.position
  const pipe = reader.bytes.indexOf(PIPE, start)
  if (pipe === -1) throw new FormatRefusal('bad-syntax', start, "bytes after the last variable, with no '|'")
  const name = decodeName(reader.bytes.subarray(start, pipe), start)
  reader.skip(pipe - start + 1)
  return name
}

function readLengthPrefixedName(reader: PhpValueReader): string {
  const start = reader.position
  const length = (reader.bytes[start] as number) & BINARY_NAME_LENGTH_MASK
  // PHP wants at least one byte of value after the name.
  if (start + 1 + length >= reader.bytes.length) {
    throw new FormatRefusal('truncated', start, 'the input ends inside a variable name')
  }
  const name = decodeName(reader.bytes.subarray(start + 1, start + 1 + length), start)
  reader.skip(1 + length)
  return name
}

function decodeName(bytes: Uint8Array, start: number): string {
  const name = utf8OrUndefined(bytes)
  if (name === undefined) throw new FormatRefusal('unsupported', start, 'a variable name that is not UTF-8')
  return name
}

function readSerializedArray(reader: PhpValueReader): PhpSession {
  const start = reader.position
  const value = reader.readValue()
  reader.expectEnd()
  if (Array.isArray(value)) return toPhpMap(new Map(value.map((item, index) => [String(index), item])))
  if (value !== null && Object.getPrototypeOf(value) === null) return value as PhpSession
  throw new FormatRefusal('bad-syntax', start, 'a php_serialize session is one array')
}
