/**
 * `npm start`: the main job on an embedded default, with no config: a local clawnode network on this
 * machine, and a lease over it. It builds the example image offline, starts a bootstrap node
 * (`clawnode bootstrap`) and two providers with different prices (`clawnode start`), each its own
 * process with its own data dir under `<data>/localnet/`, then buys examples/hello.json from the
 * network with `clawnode lease --explain` (discovery in the DHT, bids, the cheaper provider runs it in
 * gVisor, output streamed back, receipt verified and countersigned, paid from an escrow deposit on
 * the machine's local chain, which the first provider started), stops the network (each provider
 * anchors its last ledger batch as it stops) and shows the serving provider's ledger. (A dashboard is to come.)
 *
 * Usage: npm start [-- --data <dir>] [-- --keep]   (--keep: leave the network running until Ctrl-C)
 */
import { spawn } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { buildImages } from './build-images.ts'
import { main } from '../node/cli/main.ts'
import { resolveDataDir } from '../node/data-dir.ts'
import type { ChildProcess } from 'node:child_process'

const root = join(import.meta.dirname, '..')
const bin = join(root, 'node', 'cli', 'bin.js')
const args = process.argv.slice(2)
const dataAt = args.indexOf('--data')
const home = resolveDataDir(dataAt >= 0 ? args[dataAt + 1] : undefined)
const keep = args.includes('--keep')
/** How long a node of the local network may take to start. */
const START_TIMEOUT_MS = 60_000

const say = (text: string): void => { process.stderr.write(`${text}\n`) }
const children: ChildProcess[] = []

/** Starts `clawnode <command> --json` and resolves with its `started` event. */
async function node (name: string, command: string[], dataDir: string): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [bin, ...command, '--json', '--data', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000) })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`${name} did not start within ${START_TIMEOUT_MS / 1000} s: ${stderr}`)) }, START_TIMEOUT_MS)
    lines.on('line', (line) => {
      const event = JSON.parse(line) as Record<string, unknown>
      if (event.event === 'started') { clearTimeout(timer); resolve(event) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited with ${code}: ${stderr}`)) })
  })
}

async function stopAll (): Promise<void> {
  await Promise.all(children.map(async (child) => {
    if (child.exitCode !== null || child.signalCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGINT')
    const timer = setTimeout(() => { child.kill('SIGKILL') }, 15_000)
    await exited
    clearTimeout(timer)
  }))
}

let code = 1
try {
  say('▸ building the example image (offline, from the host\'s static busybox)')
  const image = (await buildImages()).busybox.id
  const net = join(home, 'localnet')
  const providers = [{ name: 'provider-1', perCpuSecond: 800 }, { name: 'provider-2', perCpuSecond: 1000 }]
  for (const p of providers) {
    const dir = join(net, p.name)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await writeFile(join(dir, 'config.json'), JSON.stringify({ provider: { prices: { perCpuSecond: p.perCpuSecond, perGbSecond: 100 } } }, null, 2) + '\n')
    if (await main(['images', 'allow', image, '--data', dir]) !== 0) throw new Error(`could not allow the image for ${p.name}`)
  }
  say('▸ starting a local network: a bootstrap node and two providers (one process each)')
  const boot = await node('the bootstrap node', ['bootstrap', '--stun', 'off'], join(net, 'bootstrap'))
  const bootAddr = (boot.addrs as string[])[0] ?? ''
  say(`  bootstrap  ${bootAddr}`)
  for (const p of providers) {
    const started = await node(p.name, ['start', '--bootstrap', bootAddr], join(net, p.name))
    say(`  ${p.name} ${started.peerId as string} (${p.perCpuSecond} millicredits per CPU-second)`)
  }
  const spec = JSON.parse(await readFile(join(root, 'examples', 'hello.json'), 'utf8')) as Record<string, unknown>
  const specPath = join(net, 'hello.json')
  await writeFile(specPath, JSON.stringify({ ...spec, image }, null, 2) + '\n')
  say('▸ leasing examples/hello.json from the network (clawnode lease --explain)\n')
  code = await main(['lease', '--spec', specPath, '--bootstrap', bootAddr, '--explain', '--standalone', '--data', home])
  if (keep && code === 0) {
    say(`▸ the network keeps running (--keep); lease more with: npx clawnode lease --bootstrap ${bootAddr} --image ${image} -- echo hi\n  Ctrl-C to stop`)
    await new Promise<void>(resolve => { process.once('SIGINT', () => { resolve() }) })
  }
} catch (err) {
  say(`✗ ${(err as Error).message}\n  → run \`npx clawnode doctor\`; if Docker or gVisor is missing: sudo scripts/setup-host.sh`)
} finally {
  say('▸ stopping the local network')
  await stopAll()
}
if (code === 0) {
  // A provider anchors its last batch as it stops: its ledger now shows the lease, anchored on the chain.
  say('\n▸ provider-1\'s ledger (clawnode ledger): the lease it served, its batch anchored on the local chain')
  await main(['ledger', '--limit', '3', '--data', join(home, 'localnet', 'provider-1')])
}
process.exitCode = code
