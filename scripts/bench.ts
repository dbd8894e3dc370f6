/**
 * `npm run bench`: container jobs end to end through the runner (cold and from the warm pool) against
 * bare `docker run --rm --runtime=runsc --network none` with the same security flags, tmpfs mounts and
 * limits on the same image; plus dockerode create+start+wait+remove alone, and `clawnode --help`
 * start-up. Everything is measured alternately in one run; medians and ratios go to
 * bench-results/latest.json and a table on stdout.
 *
 * Usage: node scripts/bench.ts [--runs N]
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { buildImages } from './build-images.ts'
import {
  allowImage, containerOptions, createDocker, createSandboxRunner, profileOf, resolveKeeper, validateJobSpec,
  DEFAULT_RUNTIME, KEEPER_MOUNT
} from '../sandbox/index.ts'

const run = promisify(execFile)
const root = join(import.meta.dirname, '..')
const runsFlag = process.argv.indexOf('--runs')
const RUNS = runsFlag > 0 ? Number(process.argv[runsFlag + 1]) : 20
const median = (xs: number[]): number => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 === 1 ? s[m] ?? 0 : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2 }
const time = async (fn: () => Promise<unknown>): Promise<number> => { const t = performance.now(); await fn(); return performance.now() - t }

const image = (await buildImages()).busybox.id
const dataDir = await mkdtemp(join(tmpdir(), 'clawnode-bench-'))
await allowImage(dataDir, image)
const spec = { version: 1, image, argv: ['true'] }
const job = validateJobSpec(spec)
const profile = profileOf(image, job.limits)
const cold = createSandboxRunner({ dataDir })
const warm = createSandboxRunner({ dataDir, pool: [{ image, size: 1 }] })
await cold.start()
await warm.start()
const docker = await createDocker()
const keeper = await resolveKeeper()

// The same container options the runner uses (hardening, limits, tmpfs), as docker CLI flags.
const opts = containerOptions({ profile, runtime: DEFAULT_RUNTIME, keeperPath: keeper, owner: 'bench', home: 'bench' })
const hc = opts.HostConfig ?? {}
const cliArgs = [
  'run', '--rm', `--runtime=${DEFAULT_RUNTIME}`, '--network', 'none', '--read-only', '--cap-drop', 'ALL',
  '--security-opt', 'no-new-privileges', '--user', opts.User ?? '65534:65534', '--pids-limit', String(hc.PidsLimit),
  '--ulimit', `nproc=${job.limits.pids}:${job.limits.pids}`, '--memory', String(hc.Memory), '--memory-swap', String(hc.MemorySwap),
  '--cpus', String(job.limits.cpus), '--log-driver', 'none', '-v', `${keeper}:${KEEPER_MOUNT}:ro`,
  ...Object.entries(hc.Tmpfs ?? {}).flatMap(([path, o]) => ['--tmpfs', `${path}:${o}`]),
  image, 'true'
]

const bareDockerode = async (): Promise<void> => {
  const c = await docker.createContainer({ ...opts, Entrypoint: ['true'], Cmd: [] })
  await c.start()
  await c.wait()
  await c.remove({ force: true })
}

const series: Record<string, number[]> = { cold: [], warm: [], dockerCli: [], dockerode: [], helpSource: [], helpDist: [] }
const cases: Array<[string, () => Promise<unknown>]> = [
  ['cold', async () => { const r = await cold.run(spec); if (r.status !== 'succeeded') throw new Error(`cold job ${r.status}`) }],
  ['warm', async () => { const r = await warm.run(spec); if (!r.warm || r.status !== 'succeeded') throw new Error('warm job did not use the pool') }],
  ['dockerCli', async () => { await run('docker', cliArgs) }],
  ['dockerode', bareDockerode]
]

process.stderr.write(`building dist/ for the start-up measurement\n`)
await run(process.execPath, [join(root, 'scripts', 'build.ts')])
const bin = join(root, 'node', 'cli', 'bin.js')
// The installed package's layout: bin.js with no main.ts beside it, so it loads the compiled dist/.
const pkgDir = await mkdtemp(join(tmpdir(), 'clawnode-bench-pkg-'))
await mkdir(join(pkgDir, 'node', 'cli'), { recursive: true })
await copyFile(bin, join(pkgDir, 'node', 'cli', 'bin.js'))
await copyFile(join(root, 'package.json'), join(pkgDir, 'package.json'))
await symlink(join(root, 'dist'), join(pkgDir, 'dist'))
const distBin = join(pkgDir, 'node', 'cli', 'bin.js')

for (let i = 0; i < 3; i++) for (const [, fn] of cases) await fn() // warm-up: page cache, image layers
for (let i = 0; i < RUNS; i++) {
  // Rotate the order each round so no case always runs right after another.
  for (let k = 0; k < cases.length; k++) {
    const [name, fn] = cases[(i + k) % cases.length] as [string, () => Promise<unknown>]
    if (name === 'warm') await warm.poolReady({ signal: AbortSignal.timeout(30_000) })
    series[name]?.push(await time(fn))
  }
  series.helpSource?.push(await time(async () => await run(process.execPath, [bin, '--help'])))
  series.helpDist?.push(await time(async () => await run(process.execPath, [distBin, '--help'])))
  process.stderr.write(`\rround ${i + 1}/${RUNS}`)
}
process.stderr.write('\n')
await cold.stop()
await warm.stop()

const m = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]))
const ratio = (a: string, b: string): number => Math.round((m[a] ?? 0) / (m[b] ?? 1) * 100) / 100
const report = {
  date: new Date().toISOString(),
  runs: RUNS,
  medianMs: m,
  ratios: { coldVsDockerCli: ratio('cold', 'dockerCli'), warmVsDockerCli: ratio('warm', 'dockerCli'), dockerodeVsDockerCli: ratio('dockerode', 'dockerCli') },
  goals: { coldVsDockerCli: 0.8, warmVsDockerCli: 0.3, helpMs: 150 }
}
await mkdir(join(root, 'bench-results'), { recursive: true })
await writeFile(join(root, 'bench-results', 'latest.json'), JSON.stringify(report, null, 2) + '\n')
const rows: Array<[string, string, string]> = [
  ['runner, cold sandbox (create+start+exec+collect; removal after the result)', `${m.cold} ms`, `${report.ratios.coldVsDockerCli} (goal ≤ 0.8)`],
  ['runner, warm pool (exec+collect; removal after the result)', `${m.warm} ms`, `${report.ratios.warmVsDockerCli} (goal ≤ 0.3)`],
  ['dockerode create+start+wait+remove alone', `${m.dockerode} ms`, `${report.ratios.dockerodeVsDockerCli}`],
  ['docker run --rm --runtime=runsc (same flags)', `${m.dockerCli} ms`, '1.00'],
  ['clawnode --help, from source', `${m.helpSource} ms`, '(goal < 150 ms)'],
  ['clawnode --help, compiled package', `${m.helpDist} ms`, '(goal < 150 ms)']
]
process.stdout.write(`\n| case (median of ${RUNS}) | time | vs docker run |\n|---|---|---|\n${rows.map(r => `| ${r.join(' | ')} |`).join('\n')}\n\nJSON: bench-results/latest.json\n`)
