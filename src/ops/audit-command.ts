// `download-gateway audit`: the audit records of a gateway decision log and an nginx audit log
// (ops/audit.ts), one JSON line each on standard output.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { AUDIT_LOG_FORMAT, auditRecords, decisionsById } from './audit.js'

export const AUDIT_USAGE = `usage:
  download-gateway audit --decisions <gateway log> --nginx <nginx audit log> [--prefix /download/]
      one JSON line per download nginx logged, joined to the gateway's decision by request id:
      user, path, rule, status, bytes, range, seconds, outcome (complete, partial, aborted,
      refused, unknown); exit 0, 2 on a usage or read error
  download-gateway audit --print-format
      prints the nginx log_format the nginx audit log must be written with`

export interface AuditIo {
  out(line: string): void
  err(line: string): void
}

export function auditCommand(argv: readonly string[], io: AuditIo): number {
  let values: {
    decisions?: string
    nginx?: string
    prefix?: string
    'print-format'?: boolean
    help?: boolean
  }
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        decisions: { type: 'string' },
        nginx: { type: 'string' },
        prefix: { type: 'string' },
        'print-format': { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values
  } catch (err) {
    io.err(`error: ${(err as Error).message}`)
    io.err(AUDIT_USAGE)
    return 2
  }
  if (values.help) {
    io.out(AUDIT_USAGE)
    return 0
  }
  if (values['print-format']) {
    io.out(AUDIT_LOG_FORMAT)
    return 0
  }
  if (!values.decisions || !values.nginx) {
    io.err('error: --decisions and --nginx are required')
    io.err(AUDIT_USAGE)
    return 2
  }
  let decisionText: string
  let nginxText: string
  try {
    decisionText = readFileSync(values.decisions, 'utf8')
    nginxText = readFileSync(values.nginx, 'utf8')
  } catch (err) {
    io.err(`error: ${(err as Error).message}`)
    return 2
  }
  const decisions = decisionsById(decisionText.split('\n'))
  for (const record of auditRecords(nginxText.split('\n'), decisions, values.prefix ?? '/download/'))
    io.out(JSON.stringify(record))
  return 0
}
