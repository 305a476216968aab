// The page a browser gets instead of a refusal's JSON. An operator may replace the template
// (`browser.refusal_template`); its language is deliberately tiny: `{{ name }}` placeholders from a
// fixed list, every value HTML-escaped, nothing else. No conditionals, loops, includes or code: a
// template can only place text, so a template (or a value in it) can never run anything.
// Any other `{{` is a mistake and refused at start with its line, like a config problem.
import { STATUS_CODES } from 'node:http'
import type { FileProblem } from '../problems.js'
import { escapeHtml } from './html.js'

/** The placeholders a template may use. */
export const PLACEHOLDERS = ['status', 'title', 'code', 'message', 'explanation', 'request_id'] as const
export type Placeholder = (typeof PLACEHOLDERS)[number]
export type RefusalValues = Readonly<Record<Placeholder, string>>

/** A checked template: literal text between placeholders. */
export interface RefusalPage {
  render(values: RefusalValues): string
}

/** Bigger than any page worth sending for an error. */
export const MAX_TEMPLATE_BYTES = 64 * 1024

export const DEFAULT_REFUSAL_TEMPLATE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ status }} {{ title }}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  main { max-width: 32rem; margin: 12vh auto; padding: 2rem; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; }
  h1 { font-size: 1.4rem; margin: 0 0 .75rem; }
  p { margin: .5rem 0; }
  .code { color: #59636e; font-size: .85rem; }
</style>
</head>
<body>
<main>
<h1>{{ message }}</h1>
<p>{{ explanation }}</p>
<p class="code">{{ status }} {{ title }} &middot; {{ code }} &middot; request {{ request_id }}</p>
</main>
</body>
</html>
`

const PLACEHOLDER = /\{\{\s*([A-Za-z_]+)\s*\}\}/y

/** Compiles `text` (from `file`, for the problems' lines); every problem, not only the first. */
export function compileRefusalTemplate(
  text: string,
  file: string,
  field: string,
): { ok: true; page: RefusalPage } | { ok: false; problems: FileProblem[] } {
  const problems: FileProblem[] = []
  const lineAt = (index: number) => text.slice(0, index).split('\n').length
  if (Buffer.byteLength(text) > MAX_TEMPLATE_BYTES)
    problems.push({ file, line: 0, field, message: `the template is over ${MAX_TEMPLATE_BYTES} bytes` })
  const literals: string[] = []
  const names: Placeholder[] = []
  let from = 0
  for (let at = text.indexOf('{{'); at !== -1; at = text.indexOf('{{', from)) {
    PLACEHOLDER.lastIndex = at
    const match = PLACEHOLDER.exec(text)
    const name = match?.[1]
    if (match === null || name === undefined) {
      problems.push({
        file,
        line: lineAt(at),
        field,
        message: `"{{" starts no placeholder: write {{ name }}`,
      })
      from = at + 2
      continue
    }
    if (!(PLACEHOLDERS as readonly string[]).includes(name)) {
      const known = PLACEHOLDERS.join(', ')
      problems.push({
        file,
        line: lineAt(at),
        field,
        message: `unknown placeholder {{ ${name} }} (known: ${known})`,
      })
    }
    literals.push(text.slice(from, at))
    names.push(name as Placeholder)
    from = at + match[0].length
  }
  if (problems.length > 0) return { ok: false, problems }
  literals.push(text.slice(from))
  return {
    ok: true,
    page: {
      render(values) {
        let html = literals[0] as string
        for (let i = 0; i < names.length; i++)
          html += escapeHtml(values[names[i] as Placeholder]) + (literals[i + 1] as string)
        return html
      },
    },
  }
}

const defaultPage = compileRefusalTemplate(DEFAULT_REFUSAL_TEMPLATE, '(built-in)', '')
if (!defaultPage.ok) throw new Error('the built-in refusal template does not compile')
export const DEFAULT_REFUSAL_PAGE: RefusalPage = defaultPage.page

/**
 * What the status means to a person. By status, not by code: the code's own message (shown above
 * it) already tells the cases apart, and nothing here may name the file (a 404 from `refusal: 404`
 * must read exactly like a file that is not there).
 */
export function explanationFor(status: number): string {
  switch (status) {
    case 400:
    case 414:
    case 431:
      return 'The address of this download is not valid. Check the link you followed.'
    case 401:
      return 'You need to log in to download this file.'
    case 403:
      return 'Your account is not allowed to download this file. Ask the person who shared it with you.'
    case 404:
      return 'There is nothing to download at this address.'
    case 405:
      return 'Downloads can only be opened, not sent to.'
    case 410:
      return 'This link no longer works. Ask the person who shared it for a new one.'
    case 429:
      return 'There have been too many attempts. Wait a moment, then try again.'
    case 503:
      return 'The download service is unavailable for a moment. Try again shortly.'
    default:
      return status >= 500
        ? 'Something went wrong on our side. Try again later.'
        : 'This request was refused.'
  }
}

/** The values of a refusal's page: nothing in them comes from the request but its id. */
export function refusalValues(
  status: number,
  code: string,
  message: string,
  requestId: string,
): RefusalValues {
  return {
    status: String(status),
    title: STATUS_CODES[status] ?? 'Error',
    code,
    message,
    explanation: explanationFor(status),
    request_id: requestId,
  }
}
