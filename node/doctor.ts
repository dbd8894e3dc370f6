/**
 * `clawnode doctor`: checks everything a provider needs and says, for each failure, the exact fix.
 */
import { constants } from 'node:fs'
import { access, readdir, stat, statfs } from 'node:fs/promises'
import { join } from 'node:path'
import {
  createDocker, dockerSocketPath, pingDocker, probeRuntime, resolveKeeper, DEFAULT_RUNTIME, scanModels,
  DEFAULT_CONTEXT_SIZE, describeGpu, detectGpu, estimateModelMemory, openProbeStore
} from '../sandbox/index.ts'
import { loadConfig } from './config.ts'
import type { ChainConfig } from './config.ts'
import { localChainDir } from './chain.ts'
import { anvilBinary, probeChainId, readChainFile } from '../ledger/index.ts'
import { fitModels, modelMemoryBudget } from './model-host.ts'
import type { ProviderConfig } from './config.ts'
import type { Docker } from '../sandbox/index.ts'

export interface DoctorCheck {
  name: string
  ok: boolean
  detail: string
  /** What to do when the check fails. */
  fix?: string
}

export interface DoctorInit {
  dataDir: string
  runtime?: string
  keeper?: string
  socketPath?: string
  signal?: AbortSignal
}

const SETUP = 'sudo scripts/setup-host.sh (from the clawnode repository)'
const MIN_FREE_BYTES = 1024 * 1024 * 1024
const DOCTOR_CALL_TIMEOUT_MS = 15_000

/**
 * Where the node settles, checked without starting anything: the local chain's anvil binary (and
 * whether a shared chain already runs), or that a configured chain answers with its chain id.
 */
async function chainCheck (dataDir: string, options: { signal?: AbortSignal }): Promise<DoctorCheck> {
  const name = 'chain (settlement and anchoring)'
  let chain: ChainConfig
  try {
    chain = (await loadConfig(dataDir)).chain
  } catch (err) {
    return { name, ok: false, detail: (err as Error).message, fix: (err as { hint?: string }).hint ?? 'Fix the config file.' }
  }
  const mode = chain.mode ?? 'local'
  if (mode === 'off') return { name, ok: true, detail: 'off (chain.mode "off"): leases are unpaid and nothing is anchored' }
  if (mode === 'rpc') {
    const answered = await probeChainId(chain.rpcUrl ?? '', options)
    if (answered === chain.chainId) return { name, ok: true, detail: `${chain.rpcUrl ?? ''} answers as chain ${answered}` }
    return { name, ok: false, detail: answered === undefined ? `${chain.rpcUrl ?? ''} does not answer` : `${chain.rpcUrl ?? ''} is chain ${answered}, the config says ${chain.chainId ?? '?'}`, fix: 'Check chain.rpcUrl and chain.chainId in the config, and that the chain is up; or set chain.mode "local" for this machine\'s own chain.' }
  }
  try {
    const binary = anvilBinary()
    await access(binary, constants.X_OK)
    const dir = localChainDir(chain)
    const running = await readChainFile(dir)
    return { name, ok: true, detail: `local: anvil ${binary}; shared chain folder ${dir}${running === undefined ? ' (started by the first node that needs it)' : ` (running at ${running.rpcUrl})`}` }
  } catch (err) {
    return { name, ok: false, detail: `local, but anvil is missing: ${(err as Error).message}`, fix: 'Reinstall with optional dependencies (npm ci, never --omit=optional): anvil comes in @foundry-rs/anvil-linux-amd64; or set chain.mode "rpc" (a chain elsewhere) or "off".' }
  }
}

export async function runDoctor (init: DoctorInit): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  const runtime = init.runtime ?? DEFAULT_RUNTIME
  const major = Number(process.versions.node.split('.')[0])
  checks.push({ name: 'Node.js', ok: major >= 24, detail: `v${process.versions.node}`, fix: 'Install Node.js 24 or newer (https://nodejs.org/ or `nvm install 24`).' })

  let keeper: string | undefined
  try {
    keeper = await resolveKeeper(init.keeper)
    checks.push({ name: 'static busybox (sandbox helper)', ok: true, detail: keeper })
  } catch (err) {
    checks.push({ name: 'static busybox (sandbox helper)', ok: false, detail: (err as Error).message, fix: `sudo apt-get install busybox-static, or ${SETUP}` })
  }

  const socket = dockerSocketPath(init.socketPath === undefined ? {} : { socketPath: init.socketPath })
  let docker: Docker | undefined
  try {
    const d = await createDocker({ socketPath: socket })
    await pingDocker(d, init.signal === undefined ? {} : { signal: init.signal })
    const version = await (d.version as (opts: object) => Promise<{ Version: string }>).call(d, { abortSignal: AbortSignal.timeout(DOCTOR_CALL_TIMEOUT_MS) })
    docker = d
    checks.push({ name: 'Docker daemon', ok: true, detail: `${socket} (Docker ${version.Version})` })
  } catch (err) {
    checks.push({ name: 'Docker daemon', ok: false, detail: `cannot reach ${socket}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`, fix: `Start Docker (sudo systemctl start docker, or sudo dockerd &), make ${socket} readable by this user (sudo usermod -aG docker $USER), or install it: ${SETUP}` })
  }

  let info: { Runtimes?: Record<string, unknown> } | undefined
  if (docker !== undefined) {
    try {
      info = await (docker.info as (opts: object) => Promise<{ Runtimes?: Record<string, unknown> }>).call(docker, { abortSignal: AbortSignal.timeout(DOCTOR_CALL_TIMEOUT_MS) })
    } catch (err) {
      checks.push({ name: `${runtime} runtime registered`, ok: false, detail: `Docker did not describe itself: ${(err as Error).message}`, fix: 'Check the daemon: journalctl -u docker, or /var/log/dockerd.log' })
    }
  }
  if (docker !== undefined && info !== undefined) {
    const registered = info.Runtimes?.[runtime] !== undefined
    checks.push({
      name: `${runtime} runtime registered`,
      ok: registered,
      detail: registered ? `Docker knows ${runtime}` : `Docker's runtimes: ${Object.keys(info.Runtimes ?? {}).join(', ')}`,
      fix: `Add the runsc runtime to /etc/docker/daemon.json and restart Docker: ${SETUP}`
    })
    if (registered && keeper !== undefined) {
      try {
        const probe = await probeRuntime(docker, runtime, keeper, init.signal === undefined ? {} : { signal: init.signal })
        const want = runtime === 'runsc'
        checks.push({
          name: `${runtime} sandbox starts`,
          ok: probe.gvisor === want,
          detail: `sandbox kernel ${probe.kernel}${probe.gvisor ? ' (gVisor)' : ' (host kernel)'}`,
          fix: want ? 'The runsc runtime does not give a gVisor kernel: check its path in /etc/docker/daemon.json.' : 'runc should show the host kernel.'
        })
        checks.push({
          name: 'usage metering (cgroup)',
          ok: probe.cgroup !== null,
          detail: probe.cgroup ?? 'cannot find or read the sandbox\'s cgroup: CPU and memory usage would be reported as 0',
          fix: 'Run clawnode where the host\'s /sys/fs/cgroup and /proc are visible (not inside another container), as a user who can read them.'
        })
      } catch (err) {
        checks.push({ name: `${runtime} sandbox starts`, ok: false, detail: (err as Error).message, fix: `gVisor fails to start sandboxes here. On hosts without a bridge network, runsc needs "runtimeArgs": ["--network=none"] in /etc/docker/daemon.json: ${SETUP}. Logs: journalctl -u docker` })
      }
    }
  }

  checks.push(...await dataDirChecks(init.dataDir))
  checks.push(await chainCheck(init.dataDir, init.signal === undefined ? {} : { signal: init.signal }))
  checks.push(...await modelChecks(init.dataDir, init.signal === undefined ? {} : { signal: init.signal }))
  return checks
}

async function dataDirChecks (dir: string): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = []
  try {
    const s = await stat(dir)
    await access(dir, constants.W_OK)
    const mode = s.mode & 0o777
    checks.push({ name: 'data dir', ok: (mode & 0o077) === 0, detail: `${dir} (mode ${mode.toString(8)})`, fix: `chmod 700 ${dir}` })
  } catch (err) {
    checks.push({ name: 'data dir', ok: false, detail: `${dir}: ${(err as Error).message}`, fix: `mkdir -p -m 700 ${dir}, or choose another with --data` })
    return checks
  }
  const loose: string[] = []
  for (const sub of ['', 'keys']) {
    let names: string[] = []
    try { names = await readdir(join(dir, sub)) } catch { continue }
    for (const name of names.filter(n => /\.key$|key\.json$/.test(n))) {
      const path = join(dir, sub, name)
      if (((await stat(path)).mode & 0o077) !== 0) loose.push(path)
    }
  }
  checks.push({ name: 'key file permissions', ok: loose.length === 0, detail: loose.length === 0 ? 'no key readable by others' : `readable by others: ${loose.join(', ')}`, fix: `chmod 600 ${loose.join(' ')}` })
  const fs = await statfs(dir)
  const free = fs.bavail * fs.bsize
  checks.push({ name: 'disk space', ok: free >= MIN_FREE_BYTES, detail: `${(free / 1024 ** 3).toFixed(1)} GiB free in ${dir}`, fix: 'Free at least 1 GiB: run directories are in <data>/runs, images in Docker (docker image prune).' })
  return checks
}

/**
 * The GPU node-llama-cpp finds (or why only the CPU), the memory models may take and what each needs,
 * and one line per model file: good ones with what they are and whether `clawnode start` has probed
 * them, ones too large for the budget, ones whose kept probe result says they failed to load, failed
 * at the first decode or crashed while serving, and broken ones with the reason (doctor itself never
 * loads a model).
 */
async function modelChecks (dir: string, options: { signal?: AbortSignal }): Promise<DoctorCheck[]> {
  // A broken config is reported elsewhere; the models folder is still checked.
  const provider: ProviderConfig = await loadConfig(dir).then(c => c.provider, () => ({}))
  const registry = await scanModels(dir, provider.models ?? [])
  const budget = modelMemoryBudget(provider)
  const fit = fitModels(registry.models, budget)
  const tooLarge = new Map(fit.refused.map(r => [r.id, r.error]))
  const probes = await openProbeStore(dir)
  const gpu = await detectGpu(options)
  const mib = (bytes: number): number => Math.ceil(bytes / 1024 ** 2)
  return [
    {
      name: 'GPU',
      ok: gpu.failures.length === 0,
      detail: describeGpu(gpu),
      fix: 'A GPU was found but its backend did not load: check the driver (nvidia-smi, vulkaninfo) and that it suits node-llama-cpp\'s prebuilt binaries (npx node-llama-cpp inspect gpu). Models run on the CPU meanwhile.'
    },
    {
      name: 'model memory',
      ok: true,
      detail: `${mib(budget)} MiB for loaded models together (${provider.modelMemoryMb === undefined ? 'half the machine\'s memory: set provider.modelMemoryMb to change it' : 'provider.modelMemoryMb'})` +
        (registry.models.length === 0 ? '' : `; each needs about: ${registry.models.map(m => `${m.id} ${mib(estimateModelMemory(m, DEFAULT_CONTEXT_SIZE))} MiB`).join(', ')}`)
    },
    ...registry.models.map(m => {
      const error = tooLarge.get(m.id)
      const what = `${m.architecture} ${m.quantisation}, ${(m.parameterCount / 1e6).toFixed(1)}M parameters, context ${m.contextLength}, sha256 ${m.sha256.slice(0, 12)}…`
      if (error !== undefined) return { name: `model ${m.id}`, ok: false, detail: `${what}: ${error.message}`, fix: error.hint }
      const probed = probes.get(m)
      if (probed?.ok === false && probed.error !== undefined) return { name: `model ${m.id}`, ok: false, detail: `${what}: ${probed.error.message} (${probed.at})`, fix: probed.error.hint }
      return { name: `model ${m.id}`, ok: true, detail: `${what}; ${probed === undefined ? 'not probed yet (clawnode start loads it and decodes a token before advertising it)' : 'passed its load probe'}` }
    }),
    ...registry.broken.map(b => ({ name: `model ${b.id}`, ok: false, detail: b.error.message, fix: b.error.hint })),
    // Unreadable probe results are not lost work (every model is probed again), but say so.
    ...(probes.invalid === undefined ? [] : [{ name: 'model probe results', ok: false, detail: probes.invalid.message, fix: probes.invalid.hint }])
  ]
}
