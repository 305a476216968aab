// Whether a client wants a page for people (HTML) or the API's JSON, from its Accept header. Only
// refusals and anonymous downloads ask: an allowed download never parses Accept.
//
// The rule, chosen so that only browsers get HTML:
// - HTML counts only when named: `text/html` or `application/xhtml+xml`. A wildcard (`*/*`,
//   `text/*`) never means HTML: curl and wget send `*/*`, fetch() sends `*/*`, and they are
//   scripts that read JSON.
// - JSON's weight is that of its most specific range: `application/json`, else `application/*`,
//   else `*/*`, else 0.
// - HTML wins only when its weight is above JSON's; a tie goes to JSON (an API client that lists
//   both keeps the answer it had before). A browser navigation sends
//   `text/html,...,*/*;q=0.8`: 1 against 0.8.
// No Accept at all is an API client. A header too long or malformed is read as far as it parses.

/** Ranges read from one header: a browser's has about eight. */
const MAX_RANGES = 32
/** Characters of the header read: a browser's is under 200. */
const MAX_ACCEPT_LENGTH = 1024

export function prefersHtml(accept: string | undefined): boolean {
  if (accept === undefined || accept.length === 0) return false
  let html = 0
  let json = -1
  let jsonSpecificity = -1
  const ranges = accept.slice(0, MAX_ACCEPT_LENGTH).split(',', MAX_RANGES)
  for (const range of ranges) {
    const [rawType, ...params] = range.split(';')
    const type = (rawType as string).trim().toLowerCase()
    const q = qualityOf(params)
    if (q === undefined) continue
    if (type === 'text/html' || type === 'application/xhtml+xml') {
      if (q > html) html = q
      continue
    }
    const specificity =
      type === 'application/json' ? 2 : type === 'application/*' ? 1 : type === '*/*' ? 0 : -1
    if (specificity > jsonSpecificity) {
      jsonSpecificity = specificity
      json = q
    } else if (specificity === jsonSpecificity && specificity >= 0 && q > json) {
      json = q
    }
  }
  return html > 0 && html > Math.max(json, 0)
}

/** The range's q (1 when absent); undefined when the q parameter is not a valid weight. */
function qualityOf(params: readonly string[]): number | undefined {
  for (const param of params) {
    const eq = param.indexOf('=')
    if (eq === -1) continue
    if (param.slice(0, eq).trim().toLowerCase() !== 'q') continue
    const value = param.slice(eq + 1).trim()
    // RFC 9110's qvalue: 0 to 1 with up to three decimals.
    if (!/^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(value)) return undefined
    return Number(value)
  }
  return 1
}
