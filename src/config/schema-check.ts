// Checking a YAML file against its JSON schema, for every file kind the gateway reads with one
// (the gateway config, the users file): one ajv setup (every problem at once, strict schemas,
// defaults filled from the schema), and every ajv error turned into a problem naming the file, the
// line and the field, as src/problems.ts prints them.
import { Ajv, type AnySchema, type ErrorObject } from 'ajv'
import type { ConfigProblem } from './problems.js'
import type { YamlSource } from './yaml-source.js'

const ajv = new Ajv({ allErrors: true, strict: true, useDefaults: true })

/** Checks a parsed file in place (filling defaults); returns its problems, none when it fits. */
export type SchemaCheck = (source: YamlSource) => ConfigProblem[]

export function compileSchemaCheck(schema: AnySchema): SchemaCheck {
  const validate = ajv.compile(schema)
  return (source) =>
    validate(source.data) ? [] : (validate.errors ?? []).map((e) => schemaProblem(source, e))
}

function schemaProblem(source: YamlSource, e: ErrorObject): ConfigProblem {
  const path = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s.replace(/~1/g, '/').replace(/~0/g, '~')))
  let message = e.message ?? 'is invalid'
  if (e.keyword === 'additionalProperties') {
    const name = (e.params as { additionalProperty: string }).additionalProperty
    path.push(name)
    message = 'unknown field'
  } else if (e.keyword === 'required') {
    const name = (e.params as { missingProperty: string }).missingProperty
    const line = source.lineOf(path)
    return { file: source.file, line, field: fieldName([...path, name]), message: 'is required' }
  } else if (e.keyword === 'enum') {
    message = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`
  }
  return { file: source.file, line: source.lineOf(path), field: fieldName(path), message }
}

/** `a.b[2].c`, the way every problem names a field. */
export function fieldName(path: readonly (string | number)[]): string {
  return (
    path.reduce<string>((acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '') ||
    '(top)'
  )
}
