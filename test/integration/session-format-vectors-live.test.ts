// The decoders against PHP and Python as installed here, now: each generator writes its vectors
// afresh (the pickle one with its large pickles too, several frames each) and every vector must
// decode to what the interpreter says. Skipped only when the interpreter is not on PATH; PHP and
// PYTHON name other binaries. When the interpreter is the one that wrote the committed vectors,
// those must be exactly what it writes now, so a generator change cannot leave them stale.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t, { type Test } from 'tap'
import {
  checkPhpVectors,
  checkPickleVectors,
  type PhpVector,
  type PickleVector,
  readVectors,
  type VectorFile,
} from '../fixtures/sessions/vectors.js'

const fixtures = new URL('../fixtures/sessions/', import.meta.url)
const PHP = process.env.PHP ?? 'php'
const PYTHON = process.env.PYTHON ?? 'python3'

const onPath = (command: string) => spawnSync(command, ['--version'], { stdio: 'ignore' }).error === undefined

function generate<Vector>(t: Test, command: string, script: string, extraArgs: string[]): VectorFile<Vector> {
  const dir = mkdtempSync(join(tmpdir(), 'session-vectors-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const out = join(dir, 'vectors.json')
  const generator = fileURLToPath(new URL(script, fixtures))
  const run = spawnSync(command, [generator, ...extraArgs, out], { encoding: 'utf8', timeout: 120_000 })
  if (run.status !== 0) throw new Error(`${command} ${script} failed: ${run.stderr || run.error}`)
  return readVectors<Vector>(out)
}

function compareWithCommitted<Vector extends { name: string }>(
  t: Test,
  live: VectorFile<Vector>,
  committedName: string,
  sameSet: (vector: Vector) => boolean,
): void {
  const committed = readVectors<Vector>(new URL(committedName, fixtures))
  const liveNames = live.vectors.filter(sameSet).map((v) => v.name)
  const committedNames = committed.vectors.map((v) => v.name)
  if (live.generator !== committed.generator || liveNames.join('\n') !== committedNames.join('\n')) {
    t.comment(
      `${committedName} (${committed.generator}, ${committedNames.length} vectors) not compared: ` +
        `${live.generator} writes ${liveNames.length} (an optional module such as django or pytz missing?)`,
    )
    return
  }
  t.strictSame(
    live.vectors.filter(sameSet),
    committed.vectors,
    `${committedName} is what the generator writes now`,
  )
}

t.test(
  'live php: what this PHP writes decodes to what it had',
  { skip: !onPath(PHP) && `${PHP} is not on PATH` },
  async (t) => {
    const live = generate<PhpVector>(t, PHP, 'generate-php-vectors.php', [])
    checkPhpVectors(t, live)
    compareWithCommitted(t, live, 'php-vectors.json', () => true)
  },
)

t.test(
  'live python: what this Python pickles decodes, hostile pickles are refused',
  { skip: !onPath(PYTHON) && `${PYTHON} is not on PATH` },
  async (t) => {
    const live = generate<PickleVector>(t, PYTHON, 'generate-pickle-vectors.py', ['--with-large'])
    t.ok(
      live.vectors.some((v) => v.name === 'list across frames'),
      'the large pickles are there',
    )
    checkPickleVectors(t, live)
    const large = new Set(['list across frames', 'bytes between frames', 'dict 5000 items'])
    compareWithCommitted(t, live, 'pickle-vectors.json', (v) => !large.has(v.name))
  },
)
