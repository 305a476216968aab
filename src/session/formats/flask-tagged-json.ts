// Flask's tagged JSON (flask.json.tag.TaggedJSONSerializer): a one-key object whose key is a tag
// stands for a Python value JSON has no type for. Python untags each object as soon as it is read,
// innermost first; reviveFlaskTags does the same while the JSON is read. The values come out in
// the types the pickle decoder gives the same Python values:
//   ' t'  tuple                -> array
//   ' u'  uuid.UUID (hex)      -> 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx' (Python's str(uuid))
//   ' b'  bytes (base64)       -> ByteString
//   ' m'  Markup               -> its string
//   ' d'  datetime (HTTP date) -> PyDateTime in UTC (whole seconds), or null when Werkzeug could
//                                 not parse it
//   ' di' a one-key object whose key is a tag, escaped as `{' di': {'<key>__': value}}`
// A tag whose value has the wrong type is refused as malformed (Flask fails on it too).
import { ByteString } from './byte-string.js'
import { daysInMonth, PyDateTime, PyTimedelta, PyTimezone } from './python-datetime.js'
import { base64Bytes } from './signed-encoding.js'
import { refuse, type SessionObject, type SessionValue } from './signed-result.js'
import { plainObject } from './strict-json.js'

type Untag = (tagged: SessionValue) => SessionValue

const TAGS: ReadonlyMap<string, Untag> = new Map<string, Untag>([
  [' di', untagDict],
  [' t', untagTuple],
  [' b', untagBytes],
  [' m', untagMarkup],
  [' u', untagUuid],
  [' d', untagDate],
])

export function reviveFlaskTags(entries: ReadonlyMap<string, SessionValue>): SessionValue {
  if (entries.size === 1) {
    const [key, value] = entries.entries().next().value as [string, SessionValue]
    const untag = TAGS.get(key)
    if (untag) return untag(value)
  }
  return plainObject(entries)
}

function bad(tag: string): never {
  refuse('malformed', `Flask tag '${tag}' has a value of the wrong type`)
}

function untagDict(value: SessionValue): SessionValue {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) bad(' di')
  const keys = Object.keys(value)
  if (keys.length !== 1) bad(' di')
  const key = keys[0] as string
  // Python strips the two characters Flask appended, whatever they are.
  return plainObject(new Map([[key.slice(0, -2), (value as SessionObject)[key] as SessionValue]]))
}

function untagTuple(value: SessionValue): SessionValue {
  if (!Array.isArray(value)) bad(' t')
  return value
}

function untagBytes(value: SessionValue): SessionValue {
  if (typeof value !== 'string') bad(' b')
  return new ByteString(base64Bytes(value, "Flask tag ' b'"))
}

function untagMarkup(value: SessionValue): SessionValue {
  if (typeof value !== 'string') bad(' m')
  return value
}

// Python's uuid.UUID() drops every 'urn:' and 'uuid:', braces at either end and all hyphens.
function untagUuid(value: SessionValue): SessionValue {
  if (typeof value !== 'string') bad(' u')
  const hex = value
    .replaceAll('urn:', '')
    .replaceAll('uuid:', '')
    .replace(/^[{}]+|[{}]+$/g, '')
    .replaceAll('-', '')
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) bad(' u')
  const h = hex.toLowerCase()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

const WEEKDAYS = new Set(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'])
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
const HTTP_DATE = /^([A-Z][a-z]{2}), (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/
// email.utils.parsedate_to_datetime gives GMT as timezone(timedelta(0)): Python's timezone.utc.
const UTC = new PyTimezone(new PyTimedelta(0, 0, 0), null)

// Flask writes Werkzeug's http_date (IMF-fixdate, always GMT); Werkzeug's parse_date answers None
// for what it cannot read rather than failing, so an unreadable date is null here too.
function untagDate(value: SessionValue): SessionValue {
  if (typeof value !== 'string') bad(' d')
  const m = HTTP_DATE.exec(value)
  if (!m || !WEEKDAYS.has(m[1] as string)) return null
  const month = MONTHS.indexOf(m[3] as string) + 1
  const [day, year, hour, minute, second] = [m[2], m[4], m[5], m[6], m[7]].map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ]
  if (month < 1 || year < 1 || day < 1 || day > daysInMonth(year, month)) return null
  if (hour > 23 || minute > 59 || second > 59) return null
  return new PyDateTime(year, month, day, hour, minute, second, 0, 0, UTC)
}
