// The full benchmark's arithmetic and text, from cells made up here: the median round, the table's
// ratios, and the targets' verdicts (no server runs).
import t from 'tap'
import { type Cell, medianCell } from '../../bench/run-cell.js'
import { cellLinesText, rssText, tableText } from '../../bench/run-report.js'
import { type RoundsBySize, targetsText } from '../../bench/run-targets.js'

const SETUPS = ['nginx static', 'bare handler', 'gateway-cache-on', 'gateway-cache-off', 'node streaming']
const SIZES = ['1 KiB', '1 MiB', '256 MiB']

function cell(setup: string, size: string, rps: number, more: Partial<Cell> = {}): Cell {
  const node = setup !== 'nginx static'
  return {
    setup,
    size,
    wrk: { requests: rps * 2, bytes: rps * 2 * 1024, seconds: 2, p50Us: 1000, p99Us: 4000, errors: 0 },
    rps,
    mibps: rps / 1024,
    nodeUs: node ? 10 : undefined,
    core0Us: 20,
    core0Busy: 0.5,
    core1Busy: 0.25,
    peakRssMiB: node ? 60 : undefined,
    rssRiseMiB: node && size === '256 MiB' ? 2 : undefined,
    ...more,
  }
}

/** Three rounds per setup and size; `rps(setup, size, round)` gives each round's req/s. */
function run(rps: (setup: string, size: string, round: number) => number, more: Partial<Cell> = {}) {
  const roundsBySize = new Map<string, Map<string, Cell[]>>()
  const cells: Cell[] = []
  for (const size of SIZES) {
    const bySetup = new Map<string, Cell[]>()
    roundsBySize.set(size, bySetup)
    for (const setup of SETUPS) {
      const rounds = [0, 1, 2].map((r) => cell(setup, size, rps(setup, size, r), more))
      bySetup.set(setup, rounds)
      cells.push(medianCell(rounds))
    }
  }
  return { cells, roundsBySize: roundsBySize as RoundsBySize }
}

t.test('bench report: the median cell is the median req/s round, its memory the worst round', async (t) => {
  const rounds = [
    cell('bare handler', '1 KiB', 300, { peakRssMiB: 50, core0Us: 3 }),
    cell('bare handler', '1 KiB', 100, { peakRssMiB: 90, core0Us: 1 }),
    cell('bare handler', '1 KiB', 200, { peakRssMiB: 70, core0Us: 2 }),
  ]
  const m = medianCell(rounds)
  t.equal(m.rps, 200)
  t.equal(m.core0Us, 2, 'every other figure comes from the median round')
  t.equal(m.peakRssMiB, 90)
  t.equal(m.rssRiseMiB, undefined, 'no round sampled a rise')
})

t.test(
  'bench report: the table gives each cell its ratios to nginx static and the bare handler',
  async (t) => {
    const base = (setup: string) => (setup === 'nginx static' ? 1000 : setup === 'bare handler' ? 800 : 600)
    const { cells } = run((setup) => base(setup))
    const text = tableText(cells)
    const row = text.split('\n').find((l) => l.includes('1 MiB') && l.includes('gateway-cache-on')) as string
    t.ok(row, 'one row per size and setup')
    // Columns are separated by ' | ' (a ratio pair holds a bare '|'): size, setup, req/s, ...
    const columns = row
      .slice(2, -2)
      .split(' | ')
      .map((v) => v.trim())
    t.equal(columns[2], '600')
    t.equal(columns[10], '0.60|0.75', 'req/s against nginx static, then against the bare handler')
    t.match(text, /median of \d+ interleaved rounds/)
  },
)

t.test('bench report: a cell whose wrk saw errors says so in the table', async (t) => {
  const { cells } = run(() => 500)
  const flagged = cells.map((c) =>
    c.setup === 'node streaming' ? { ...c, wrk: { ...c.wrk, errors: 4 } } : c,
  )
  t.match(tableText(flagged), /node streaming \(4 errors!\)/)
})

t.test('bench report: targets are met or missed by the median of the per-round ratios', async (t) => {
  // gateway-cache-on: 0.96 of the bare handler in every round; gateway-cache-off: 0.5.
  const { cells, roundsBySize } = run((setup, _size, round) => {
    const bare = 1000 + round * 100
    if (setup === 'bare handler') return bare
    if (setup === 'nginx static') return bare
    if (setup === 'gateway-cache-on') return bare * 0.96
    if (setup === 'gateway-cache-off') return bare * 0.5
    return bare / 10 // node streaming
  })
  const text = targetsText(cells, roundsBySize)
  const lines = text.split('\n')
  const line = (g: string, what: string) => lines.find((l) => l.includes(g) && l.includes(what)) as string
  t.match(
    line('gateway-cache-on', '1 KiB req/s vs bare handler'),
    /0\.96x \[0\.96-0\.96\] \(target >= 0\.9\) met$/,
  )
  t.match(line('gateway-cache-off', '1 KiB req/s vs bare handler'), /0\.50x .*\(target >= 0\.75\) MISSED$/)
  t.match(line('gateway-cache-on', '1 MiB req/s vs bare handler'), /0\.96x .*\(target >= 0\.95\) met$/)
  t.match(line('gateway-cache-off', '1 MiB req/s vs bare handler'), /0\.50x .* MISSED$/)
  t.match(line('gateway-cache-on', '256 MiB MiB/s vs nginx static'), /0\.96x .*\(target >= 0\.95\) met$/)
  t.match(line('gateway-cache-on', '256 MiB RSS rise'), /2\.0 MiB \(target <= 10\) met$/)
  t.notOk(
    lines.some((l) => l.includes('1 MiB req/s vs nginx static') && l.includes('(target >=')),
    'the mis-anchored 1 MiB target against nginx static is gone',
  )
  t.match(line('gateway-cache-off', 'node CPU'), /req\/s 0\.50x .*node CPU 1\.00x .*below 0\.75x$/)
  t.notMatch(line('gateway-cache-on', 'node CPU'), /below/)
  t.match(line('bare handler', '1 MiB req/s vs nginx static'), /1\.00x \[1\.00-1\.00\] \(the floor/)
})

t.test('bench report: a round with errors misses its target whatever the ratio', async (t) => {
  const { cells, roundsBySize } = run(() => 1000)
  const on = roundsBySize.get('1 KiB')?.get('gateway-cache-on') as Cell[]
  const broken = new Map(roundsBySize)
  const bySetup = new Map(roundsBySize.get('1 KiB'))
  bySetup.set('gateway-cache-on', [
    { ...(on[0] as Cell), wrk: { ...(on[0] as Cell).wrk, errors: 1 } },
    ...on.slice(1),
  ])
  broken.set('1 KiB', bySetup)
  t.match(
    targetsText(cells, broken),
    /gateway-cache-on +1 KiB req\/s vs bare handler +1\.00x .*MISSED \(1 rounds with errors\)/,
  )
})

t.test('bench report: memory lines and the lines of a partial run', async (t) => {
  const { cells } = run(() => 1000, { peakRssMiB: 75.5 })
  const rss = rssText(
    cells,
    [{ name: 'gateway-cache-off' }],
    new Map([['gateway-cache-off', 40 * 1024]]),
    new Map(),
  )
  t.match(rss, /gateway-cache-off +40\.0 \/ - \/ 75\.5 \/ 2\.0\n$/)
  t.equal(
    cellLinesText(cells.slice(0, 2)),
    '1 KiB nginx static: 1000 req/s, node undefined us/req\n1 KiB bare handler: 1000 req/s, node 10.0 us/req\n',
  )
})

t.test('bench report: the edge link row is held against nginx static, not the bare handler', async (t) => {
  const { cells, roundsBySize } = run(() => 1000)
  const withEdge = new Map(roundsBySize)
  const kib = new Map(roundsBySize.get('1 KiB'))
  kib.set(
    'edge link',
    (kib.get('nginx static') as Cell[]).map((c) => ({ ...c, setup: 'edge link', rps: c.rps * 0.6 })),
  )
  withEdge.set('1 KiB', kib)
  const text = targetsText(cells, withEdge)
  t.match(text, /edge link +1 KiB req\/s vs nginx static +0\.60x .*\(target >= 0\.8\) MISSED\n/)
  t.notMatch(text, /edge link +req\/s/, 'no decision-path line: no Node decides it')
})
