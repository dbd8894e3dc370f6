/**
 * Lease protocol overhead: a trivial container job leased over loopback (order, bid, award, output,
 * receipt, countersignature, with discovery cached) against the same job through the sandbox runner
 * directly, both from a warm pool, measured alternately; medians, the difference in ms and the ratio.
 * JSON to bench-results/lease.json and a table on stdout. Usage: node scripts/bench-lease.ts [--runs N]
 */
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildImages } from './build-images.ts'
import { createCapsService, createClawNode, createConsumer, createProviderService, loadOrCreatePeerKey } from '../node/index.ts'
import { allowImage, createSandboxRunner } from '../sandbox/index.ts'

const root = join(import.meta.dirname, '..')
const runsFlag = process.argv.indexOf('--runs')
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 20
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? s[m] ?? 0 : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2 }
const time = async (fn: () => Promise<unknown>): Promise<number> => { const t = performance.now(); await fn(); return performance.now() - t }
const tmp = async (): Promise<string> => await mkdtemp(join(tmpdir(), 'clawnode-bench-lease-'))

const image = (await buildImages()).busybox.id
const spec = { version: 1, image, argv: ['true'] }
const prices = { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 1, perGbSecond: 0 }

// Direct: a runner with a warm pool of one.
const directDir = await tmp()
await allowImage(directDir, image)
const direct = createSandboxRunner({ dataDir: directDir, pool: [{ image, size: 1 }] })
await direct.start()

// Leased: a bootstrap node, a provider with the same warm pool, and a consumer.
const boot = await createClawNode({ dataDir: await tmp() })
await boot.start()
const bootAddrs = boot.getMultiaddrs().map(String)
const providerDir = await tmp()
await allowImage(providerDir, image)
const providerNode = await createClawNode({ dataDir: providerDir, network: { bootstrap: bootAddrs } })
await providerNode.start()
const providerKey = await loadOrCreatePeerKey(providerDir)
const providerRunner = createSandboxRunner({ dataDir: providerDir, pool: [{ image, size: 1 }] })
await providerRunner.start()
const provider = createProviderService({ node: providerNode, privateKey: providerKey, runner: providerRunner, dataDir: providerDir, prices, maxConcurrentJobs: 4 })
await provider.start()
const providerCaps = createCapsService({ node: providerNode, privateKey: providerKey, capabilities: { clawnodeVersion: '0', cpuCores: 2, memoryBytes: 0, gpus: [], runtimes: ['gvisor'], images: [image], models: [], prices, maxConcurrentJobs: 4 } })
await providerCaps.start()
const consumerDir = await tmp()
const consumerNode = await createClawNode({ dataDir: consumerDir, network: { bootstrap: bootAddrs } })
await consumerNode.start()
const consumerKey = await loadOrCreatePeerKey(consumerDir)
const consumerCaps = createCapsService({ node: consumerNode, privateKey: consumerKey, capabilities: { clawnodeVersion: '0', cpuCores: 0, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: [], prices, maxConcurrentJobs: 0 } })
await consumerCaps.start()
const consumer = createConsumer({ node: consumerNode, privateKey: consumerKey, caps: consumerCaps })
for (let i = 0; i < 60; i++) {
  if ((await consumerCaps.discover({ kind: 'image', image }, { signal: AbortSignal.timeout(5000) })).length > 0) break
  await new Promise(resolve => setTimeout(resolve, 250))
}
const artifactsDir = await tmp()

const series: Record<string, number[]> = { direct: [], leased: [] }
// Before each measurement both pools are full and finished sandboxes removed, so neither case pays
// for the other's background work.
const quiet = async (): Promise<void> => {
  await Promise.all([direct.poolReady({ signal: AbortSignal.timeout(30_000) }), providerRunner.poolReady({ signal: AbortSignal.timeout(30_000) }), direct.settled(), providerRunner.settled()])
}
const cases: Array<[string, () => Promise<unknown>]> = [
  ['direct', async () => { await quiet(); return await time(async () => await direct.run(spec)) }],
  ['leased', async () => { await quiet(); return await time(async () => await consumer.lease(spec, { maxPrice: 1_000_000, artifactsDir })) }]
]
for (let i = 0; i < 3; i++) for (const [, fn] of cases) await fn()
for (let i = 0; i < RUNS; i++) {
  for (let k = 0; k < cases.length; k++) {
    const [name, fn] = cases[(i + k) % cases.length] as [string, () => Promise<unknown>]
    series[name]?.push(await fn() as number)
  }
  process.stderr.write(`\rround ${i + 1}/${RUNS}`)
}
process.stderr.write('\n')
for (const stop of [async () => { await consumerCaps.stop() }, async () => { await consumerNode.stop() }, async () => { await providerCaps.stop() }, async () => { await provider.stop() }, async () => { await providerRunner.stop() }, async () => { await providerNode.stop() }, async () => { await boot.stop() }, async () => { await direct.stop() }]) await stop()

const d = Math.round(median(series.direct ?? []) * 10) / 10
const l = Math.round(median(series.leased ?? []) * 10) / 10
const report = { date: new Date().toISOString(), runs: RUNS, medianMs: { direct: d, leased: l }, addedMs: Math.round((l - d) * 10) / 10, ratio: Math.round(l / d * 100) / 100, goal: { addedMs: 25 } }
await mkdir(join(root, 'bench-results'), { recursive: true })
await writeFile(join(root, 'bench-results', 'lease.json'), JSON.stringify(report, null, 2) + '\n')
process.stdout.write(`\n| trivial container job (median of ${RUNS}, warm pool) | time |\n|---|---|\n| through the sandbox runner directly | ${d} ms |\n| leased over loopback (discovery cached) | ${l} ms |\n| added by the lease protocol | ${report.addedMs} ms (goal < 25 ms), ratio ${report.ratio} |\n\nJSON: bench-results/lease.json\n`)
