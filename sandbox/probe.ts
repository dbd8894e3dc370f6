/**
 * Probes a container runtime for real: starts a sandbox from the busybox probe image (built and
 * loaded on the spot if missing) and reads the kernel the sandbox sees. gVisor's kernel greets with
 * "Starting gVisor..." in dmesg; a host kernel never does.
 */
import { writeFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DOCKER_CALL_TIMEOUT_MS } from './constants.ts'
import { runKeeper } from './exec.ts'
import { buildBusyboxArchive } from './image-archive.ts'
import { importImageArchive } from './images.ts'
import { createSandbox } from './sandbox.ts'
import type { Docker } from './docker.ts'

export interface RuntimeProbe {
  runtime: string
  /** `uname -r` inside the sandbox. */
  kernel: string
  /** Whether the sandbox's kernel is gVisor's. */
  gvisor: boolean
  /** The sandbox's host cgroup directory (usage metering), or null when it cannot be read. */
  cgroup: string | null
}

/** Makes sure the busybox probe image is loaded; returns its ID. */
export async function ensureProbeImage (docker: Docker, keeper: string, options: { signal?: AbortSignal } = {}): Promise<string> {
  const { archive, id } = await buildBusyboxArchive(keeper)
  const signal = AbortSignal.any([AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
  try {
    await (docker.getImage(id).inspect as (opts: object) => Promise<unknown>).call(docker.getImage(id), { abortSignal: signal })
    return id
  } catch {}
  const dir = await mkdtemp(join(tmpdir(), 'clawnode-probe-'))
  try {
    const path = join(dir, 'busybox.tar')
    await writeFile(path, archive)
    await importImageArchive(docker, path, { signal })
    return id
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

export async function probeRuntime (docker: Docker, runtime: string, keeper: string, options: { signal?: AbortSignal } = {}): Promise<RuntimeProbe> {
  const image = await ensureProbeImage(docker, keeper, options)
  const sandbox = await createSandbox({
    docker,
    profile: { image, cpus: 1, memoryMb: 128, pids: 16, tmpMb: 1, artifactBytes: 1024 * 1024 },
    runtime,
    keeperPath: keeper,
    owner: 'probe',
    home: 'probe'
  }, options)
  try {
    const read = async (args: string[]): Promise<string> => {
      let out = ''
      await runKeeper(sandbox, { args, onStdout: (c) => { if (out.length < 65536) out += Buffer.from(c).toString('utf8') }, timeoutMs: 10_000, ...(options.signal === undefined ? {} : { signal: options.signal }) })
      return out
    }
    const kernel = (await read(['uname', '-r'])).trim()
    const dmesg = await read(['dmesg'])
    return { runtime, kernel, gvisor: dmesg.includes('Starting gVisor'), cgroup: sandbox.cgroup?.cpu ?? null }
  } finally {
    await sandbox.destroy()
  }
}
