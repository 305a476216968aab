import t from 'tap'
import { ConfigError } from '../../src/config/problems.js'
import { describeStartupFailure, EXIT_CONFIG, EXIT_RUNTIME, StartupError } from '../../src/startup-failure.js'

t.test('startup failure: config problems exit 2, a file that cannot be read said in words', async (t) => {
  const unreadable = new ConfigError([
    {
      file: '/etc/gw/missing.yaml',
      line: 0,
      field: '(file)',
      message: "ENOENT: no such file or directory, open '/etc/gw/missing.yaml'",
    },
  ])
  t.same(describeStartupFailure(unreadable), {
    message: '/etc/gw/missing.yaml: does not exist',
    exitCode: EXIT_CONFIG,
    expected: true,
  })
  const two = new ConfigError([
    {
      file: '/etc/gw/gateway.yaml',
      line: 3,
      field: 'delivery.mode',
      message: 'must be one of "x-accel", "direct"',
    },
    { file: 'environment', line: 0, field: 'GATEWAY_PORT', message: 'must be a port number' },
  ])
  t.equal(
    describeStartupFailure(two).message,
    'invalid configuration:\n  /etc/gw/gateway.yaml:3 delivery.mode: must be one of "x-accel", "direct"\n  environment GATEWAY_PORT: must be a port number',
    'a line per problem under one heading',
  )
  t.equal(
    describeStartupFailure(
      new ConfigError([{ file: `${process.cwd()}/config/x.yaml`, line: 2, field: 'a', message: 'b' }]),
    ).message,
    'config/x.yaml:2 a: b',
    'files inside the working folder as typed',
  )
})

t.test('startup failure: worded errors keep their code; anything else is unexpected, exit 1', async (t) => {
  t.same(describeStartupFailure(new StartupError('port 3000 is already in use', EXIT_RUNTIME)), {
    message: 'port 3000 is already in use',
    exitCode: EXIT_RUNTIME,
    expected: true,
  })
  t.same(describeStartupFailure(new TypeError('x is not a function')), {
    message: 'unexpected error: x is not a function',
    exitCode: EXIT_RUNTIME,
    expected: false,
  })
})
