// The real Flask, Django and Rails write their session values again, now, with the generators in
// test/fixtures/sessions/, and the decoders must read every one as the framework did. Flask and
// Django sign at a fixed time, so with the committed vectors' framework version the output must be
// the committed file itself: proof that the file is what the framework writes. Every interpreter
// found that has the framework is run (a newer Flask in a venv beside Debian's means two
// versions checked). Skipped only when there is no interpreter at all; an interpreter without the
// framework fails, naming the Debian package to install.
import { execFile } from 'node:child_process'
import t, { type Test } from 'tap'
import {
  type BaseVector,
  checkVectors,
  type DjangoVector,
  decodeDjangoVector,
  decodeFlaskVector,
  decodeRailsVector,
  type FlaskVector,
  type RailsVector,
  readVectorFile,
  runGenerator,
  type VectorFile,
} from '../fixtures/sessions/signed-vectors.js'

// PYTHON and RUBY name other binaries. Otherwise python3 on PATH, then Debian's own interpreter,
// where python3-flask and python3-django install (a pyenv or venv python3 earlier on PATH may
// lack them).
const PYTHONS = process.env.PYTHON ? [process.env.PYTHON] : ['python3', '/usr/bin/python3']
const RUBIES = [process.env.RUBY ?? 'ruby']

interface Interpreter {
  command: string
  /** Identifies the installation, so one found twice on the path runs once. */
  identity: string
  hasFramework: boolean
}

function run(command: string, args: string[]): Promise<{ code: number | string; stdout: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 60_000 }, (err, stdout) => {
      const code = err ? ((err as NodeJS.ErrnoException).code ?? 1) : 0
      resolve({ code: typeof code === 'number' || typeof code === 'string' ? code : 1, stdout })
    })
  })
}

async function findInterpreters(commands: string[], probe: string[]): Promise<Interpreter[] | null> {
  const found = new Map<string, Interpreter>()
  let anyExists = false
  for (const command of commands) {
    const { code, stdout } = await run(command, probe)
    if (code === 'ENOENT') continue
    anyExists = true
    const [identity, hasFramework] = stdout.trim().split('\n')
    const key = identity || command
    if (!found.has(key)) found.set(key, { command, identity: key, hasFramework: hasFramework === 'yes' })
  }
  return anyExists ? [...found.values()] : null
}

const pythonProbe = (module: string) => [
  '-c',
  `import sys, importlib.util\nprint(sys.executable)\nprint("yes" if importlib.util.find_spec("${module}") else "no")`,
]
const rubyProbe = [
  '-e',
  'puts RbConfig.ruby; begin; require "rails"; require "action_controller/railtie"; puts "yes"; rescue LoadError; puts "no"; end',
]

async function liveTest<V extends BaseVector>(
  t: Test,
  options: {
    framework: string
    debianPackage: string
    interpreters: Interpreter[] | null
    script: string
    committed: VectorFile<V>
    decode: (v: V) => ReturnType<typeof decodeFlaskVector>
    deterministic: boolean
  },
): Promise<void> {
  const { interpreters } = options
  if (interpreters === null) {
    t.plan(0, `no interpreter for ${options.framework} on this machine`)
    return
  }
  const usable = interpreters.filter((i) => i.hasFramework)
  t.ok(
    usable.length > 0,
    `${options.framework} is importable (install ${options.debianPackage}); tried ${interpreters.map((i) => i.identity).join(', ')}`,
  )
  for (const interpreter of usable) {
    const file = JSON.parse(await runGenerator(interpreter.command, options.script)) as VectorFile<V>
    t.comment(
      `${options.framework} ${file.version} (${interpreter.identity}): ${file.vectors.length} vectors`,
    )
    checkVectors(t, file, options.decode)
    if (options.deterministic && file.version === options.committed.version)
      t.same(
        file,
        options.committed,
        `${options.framework} ${file.version} writes exactly the committed vectors`,
      )
  }
}

t.test('Flask writes its session cookies again, and they are read as Flask reads them', async (t) => {
  await liveTest(t, {
    framework: 'Flask',
    debianPackage: 'python3-flask',
    interpreters: await findInterpreters(PYTHONS, pythonProbe('flask')),
    script: 'generate-flask-vectors.py',
    committed: readVectorFile<FlaskVector>('flask-vectors.json'),
    decode: decodeFlaskVector,
    deterministic: true,
  })
})

t.test('Django writes its signed sessions again, and they are read as Django reads them', async (t) => {
  await liveTest(t, {
    framework: 'Django',
    debianPackage: 'python3-django',
    interpreters: await findInterpreters(PYTHONS, pythonProbe('django')),
    script: 'generate-django-vectors.py',
    committed: readVectorFile<DjangoVector>('django-vectors.json'),
    decode: decodeDjangoVector,
    deterministic: true,
  })
})

t.test('Rails writes its encrypted cookies again, and they are read as Rails reads them', async (t) => {
  await liveTest(t, {
    framework: 'Rails',
    debianPackage: 'ruby-rails',
    interpreters: await findInterpreters(RUBIES, rubyProbe),
    script: 'generate-rails-vectors.rb',
    committed: readVectorFile<RailsVector>('rails-vectors.json'),
    decode: decodeRailsVector,
    // A random IV each run.
    deterministic: false,
  })
})
