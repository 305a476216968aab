// The scenario of scenario.ts in either delivery mode, behind one shape, so a security test can run
// the same requests against production (nginx + x-accel) and development (the gateway streaming
// the bytes itself, no nginx) and hold both to the same promises.
import { type RunningGateway, startGateway } from './gateway.js'
import {
  loginAt,
  makeScenarioTree,
  SCENARIO_ACL,
  type ScenarioBase,
  type ScenarioOptions,
  scenarioUsersYaml,
  startScenario,
} from './scenario.js'

export type DeliveryMode = 'x-accel' | 'direct'

export const DELIVERY_MODES: readonly DeliveryMode[] = ['x-accel', 'direct']

/** Direct delivery with the embedded store: the gateway alone, as `npm start` runs it. */
export const DIRECT_MEMORY_CONFIG = `
server:
  log_level: info
delivery:
  mode: direct
  files_root: \${FILES_ROOT}
session:
  store: memory
  cookie_name: sid
login:
  enabled: true
  users_file: users.yaml
acl:
  paths: [acl.d]
  watch: false
`

export interface ModeScenario extends ScenarioBase {
  mode: DeliveryMode
  /** Where clients connect: nginx in x-accel mode, the gateway itself in direct mode. */
  port: number
  baseUrl: string
}

/** The scenario's tree, users and rules served by the gateway alone in direct mode. */
export async function startDirectScenario(options: ScenarioOptions = {}): Promise<ModeScenario> {
  const tree = await makeScenarioTree(options.prepareTree)
  let gateway: RunningGateway
  try {
    gateway = await startGateway({
      configYaml: DIRECT_MEMORY_CONFIG,
      aclFiles: { '10-test.yaml': SCENARIO_ACL, ...options.aclFiles },
      usersYaml: await scenarioUsersYaml(),
      filesRoot: tree.root,
    })
  } catch (err) {
    await tree.cleanup()
    throw err
  }
  const g = gateway
  return {
    mode: 'direct',
    port: g.port,
    baseUrl: g.baseUrl,
    gateway: g,
    filesRoot: tree.root,
    files: tree.files,
    outsideDir: tree.outsideDir,
    outsideSecret: tree.outsideSecret,
    login: (user) => loginAt(g.baseUrl, user),
    async stop() {
      await g.stop()
      await tree.cleanup()
    },
  }
}

/** x-accel: real Redis, gateway and nginx (startScenario); direct: startDirectScenario. */
export async function startModeScenario(
  mode: DeliveryMode,
  options: ScenarioOptions = {},
): Promise<ModeScenario> {
  if (mode === 'direct') return startDirectScenario(options)
  const s = await startScenario(undefined, options)
  return {
    mode,
    port: s.nginx.port,
    baseUrl: s.nginx.baseUrl,
    gateway: s.gateway,
    filesRoot: s.filesRoot,
    files: s.files,
    outsideDir: s.outsideDir,
    outsideSecret: s.outsideSecret,
    login: (user) => s.login(user),
    stop: () => s.stop(),
  }
}
