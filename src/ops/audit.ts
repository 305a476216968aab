// Completed downloads: nginx's side of each download (status, bytes sent, whether the response was
// sent to the end, how long it took) joined to the gateway's decision (user, path, rule, code) by
// the request id both already share ($request_id, sent to the gateway as X-Request-Id). One record
// per download nginx logged, with aborted and partial (Range) downloads told apart.
//
// nginx writes its side with AUDIT_LOG_FORMAT (below); the gateway's side is its decision lines.

/**
 * The nginx log_format the join reads, for the http block (see docs/operations.md). Every value
 * quoted: with escape=json nginx escapes what a client controls ($http_range, $request_uri), and a
 * status or a byte count read as a string cannot break the line's JSON whatever nginx puts there.
 */
export const AUDIT_LOG_FORMAT = `log_format download_audit escape=json '{"time":"$time_iso8601","reqId":"$request_id","uri":"$request_uri","status":"$status","bytes":"$body_bytes_sent","completion":"$request_completion","range":"$http_range","seconds":"$request_time","upstream":"$upstream_status"}';`

/** What happened to a download, as far as the client is concerned. */
export type AuditOutcome = 'complete' | 'partial' | 'aborted' | 'refused' | 'unknown'

export interface AuditRecord {
  readonly time: string
  readonly reqId: string
  readonly uri: string
  readonly user: string | null
  readonly path: string | null
  readonly rule: string | null
  readonly code: string | null
  readonly status: number
  /** Body bytes nginx sent (the file's, or the range's, or what got out before an abort). */
  readonly bytes: number
  readonly range: string | null
  readonly seconds: number
  readonly outcome: AuditOutcome
}

interface Decision {
  readonly code: string
  readonly user: string | null
  readonly path: string | null
  readonly rule: string | null
}

/**
 * The decisions of download requests by request id, from the gateway's log lines (other lines are
 * skipped; a line that is not JSON too: logs get truncated and interleaved).
 */
export function decisionsById(lines: Iterable<string>): Map<string, Decision> {
  const byId = new Map<string, Decision>()
  for (const line of lines) {
    const o = parseObject(line)
    if (o?.msg !== 'decision' || typeof o.reqId !== 'string' || typeof o.code !== 'string') continue
    byId.set(o.reqId, {
      code: o.code,
      user: typeof o.user === 'string' ? o.user : null,
      path: typeof o.path === 'string' ? o.path : null,
      rule: typeof o.rule === 'string' ? o.rule : null,
    })
  }
  return byId
}

/**
 * One record per nginx audit line under `routePrefix`, joined to its decision (none: nginx
 * answered without asking the gateway, or the gateway's line is missing: outcome `unknown`).
 */
export function* auditRecords(
  nginxLines: Iterable<string>,
  decisions: ReadonlyMap<string, Decision>,
  routePrefix = '/download/',
): Generator<AuditRecord> {
  for (const line of nginxLines) {
    const n = parseObject(line)
    if (!n || typeof n.reqId !== 'string' || typeof n.uri !== 'string') continue
    if (!n.uri.startsWith(routePrefix)) continue
    const d = decisions.get(n.reqId)
    const status = Number(n.status)
    const range = typeof n.range === 'string' && n.range !== '' ? n.range : null
    yield {
      time: String(n.time ?? ''),
      reqId: n.reqId,
      uri: n.uri,
      user: d?.user ?? null,
      path: d?.path ?? null,
      rule: d?.rule ?? null,
      code: d?.code ?? null,
      status,
      bytes: Number(n.bytes) || 0,
      range,
      seconds: Number(n.seconds) || 0,
      outcome: outcomeOf(d, status, n.completion === 'OK'),
    }
  }
}

function outcomeOf(d: Decision | undefined, status: number, completed: boolean): AuditOutcome {
  if (!d) return 'unknown'
  if (d.code !== 'GW_ALLOW' || status >= 300) return 'refused'
  // An allowed download nginx did not finish sending: the client went away (or a timeout).
  if (!completed) return 'aborted'
  return status === 206 ? 'partial' : 'complete'
}

function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    const o = JSON.parse(line) as unknown
    return o && typeof o === 'object' && !Array.isArray(o) ? (o as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}
