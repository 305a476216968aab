// The README's install line is what .ci/run installs: a user who follows the README gets every
// package the suite starts, and a package added to CI is added to the README too.
import { readFileSync } from 'node:fs'
import t from 'tap'

const ciPackages = (() => {
  const text = readFileSync('.ci/run', 'utf8')
  const block = /^packages=\(\n([\s\S]*?)\n\)/m.exec(text)?.[1] ?? ''
  return block
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .flatMap((line) => (line === '' ? [] : line.split(/\s+/)))
})()

const readmePackages = (() => {
  const line = /apt-get install -y --no-install-recommends ([^`]+)`/.exec(
    readFileSync('README.md', 'utf8'),
  )?.[1]
  return (line ?? '').trim().split(/\s+/)
})()

t.test('the README installs exactly the packages .ci/run installs', async (t) => {
  t.ok(ciPackages.length >= 10, `.ci/run lists its packages (${ciPackages.length})`)
  t.same([...readmePackages].sort(), [...ciPackages].sort())
})
