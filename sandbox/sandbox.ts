/**
 * One sandbox: a gVisor container with every hardening flag whose first process (the keeper's shell)
 * holds it open, so a single job can be exec'd into it and its cgroup read after the job ends. That
 * first process is also the artifact collector: it waits on its stdin, and the newline the runner
 * sends after the job makes it stream /out as a tar over the container's attach stream, then exit.
 * Starting it with the sandbox costs nothing extra (starting a process later in gVisor costs ~50 ms).
 * A sandbox serves exactly one job and is then destroyed (killed and removed).
 */
import { randomBytes } from 'node:crypto'
import { logger } from '@libp2p/logger'
import {
  DEFAULT_JOB_USER, DOCKER_CALL_TIMEOUT_MS, GVISOR_PIDS_BASE, GVISOR_PIDS_PER_PROCESS, IN_DIR, KEEPER_MOUNT, KEEPER_PROCESSES, OUT_DIR,
  SANDBOX_LABEL, TMP_DIR
} from './constants.ts'
import { findCgroup } from './cgroup.ts'
import { isConnectionError, type Docker } from './docker.ts'
import { DockerUnavailableError, ImageNotAllowedError, RuntimeUnavailableError, SandboxError } from './errors.ts'
import type { JobLimits } from './job-spec.ts'
import type { CgroupPaths } from './cgroup.ts'
import type Dockerode from 'dockerode'
import type { Duplex } from 'node:stream'

const log = logger('clawnode:sandbox')

/** The container-level part of a job's limits: sandboxes with the same profile are interchangeable. */
export interface SandboxProfile {
  image: string
  cpus: number
  memoryMb: number
  pids: number
  tmpMb: number
  artifactBytes: number
}

export interface SandboxInit {
  docker: Docker
  profile: SandboxProfile
  runtime: string
  keeperPath: string
  /** Label value: the job id, or "pool" for warm sandboxes. */
  owner: string
  /** Identifies the data dir that owns the sandbox, so cleanup never touches another node's. */
  home: string
}

export interface Sandbox {
  readonly id: string
  readonly container: Dockerode.Container
  /** The keeper's stdin/stdout/stderr (multiplexed): the artifact collector's channel. */
  readonly attached: Duplex
  readonly profile: SandboxProfile
  readonly cgroup: CgroupPaths | undefined
  /** Kills and removes the container; safe to call more than once. */
  destroy: () => Promise<void>
}

/** The host pids cgroup limit for a job allowed `pids` processes. */
export function hostPidsLimit (pids: number): number {
  return GVISOR_PIDS_BASE + (pids + KEEPER_PROCESSES) * GVISOR_PIDS_PER_PROCESS
}

export function profileOf (image: string, limits: JobLimits): SandboxProfile {
  return { image, cpus: limits.cpus, memoryMb: limits.memoryMb, pids: limits.pids, tmpMb: limits.tmpMb, artifactBytes: limits.artifactBytes }
}

export function profileKey (p: SandboxProfile): string {
  return `${p.image}|${p.cpus}|${p.memoryMb}|${p.pids}|${p.tmpMb}|${p.artifactBytes}`
}

/** The Docker create options for a profile: the whole containment policy in one place. */
export function containerOptions (init: Omit<SandboxInit, 'docker'>): Dockerode.ContainerCreateOptions {
  const { profile } = init
  const mb = 1024 * 1024
  const outMb = Math.max(1, Math.ceil(profile.artifactBytes / mb))
  return {
    Image: profile.image,
    Entrypoint: [KEEPER_MOUNT],
    Cmd: ['sh', '-c', `read -r _ && exec ${KEEPER_MOUNT} tar -c -f - -C ${OUT_DIR} .`],
    User: DEFAULT_JOB_USER,
    WorkingDir: IN_DIR,
    NetworkDisabled: true,
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: false,
    Tty: false,
    Labels: { [SANDBOX_LABEL]: init.home, [`${SANDBOX_LABEL}.owner`]: init.owner, [`${SANDBOX_LABEL}.pid`]: String(process.pid) },
    HostConfig: {
      Runtime: init.runtime,
      NetworkMode: 'none',
      ReadonlyRootfs: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Privileged: false,
      IpcMode: 'private',
      // The job's limit is RLIMIT_NPROC inside (plus the keeper, which runs as the same user); the
      // host limit is a backstop sized for gVisor's threads (see constants.ts).
      PidsLimit: hostPidsLimit(profile.pids),
      Ulimits: [{ Name: 'nproc', Soft: profile.pids + KEEPER_PROCESSES, Hard: profile.pids + KEEPER_PROCESSES }],
      Memory: profile.memoryMb * mb,
      MemorySwap: profile.memoryMb * mb,
      NanoCpus: Math.round(profile.cpus * 1e9),
      Tmpfs: {
        [TMP_DIR]: `rw,nosuid,nodev,size=${profile.tmpMb}m,mode=1777`,
        [IN_DIR]: `rw,nosuid,nodev,size=${profile.tmpMb}m,mode=1777`,
        [OUT_DIR]: `rw,nosuid,nodev,size=${outMb}m,mode=1777`
      },
      Binds: [`${init.keeperPath}:${KEEPER_MOUNT}:ro`],
      LogConfig: { Type: 'none', Config: {} },
      AutoRemove: false,
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }
    }
  }
}

function bounded (signal?: AbortSignal): AbortSignal {
  return AbortSignal.any([AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS), ...(signal === undefined ? [] : [signal])])
}

function mapCreateError (err: unknown, init: SandboxInit): Error {
  const message = (err as { json?: { message?: string }, message?: string })?.json?.message ?? (err as Error)?.message ?? String(err)
  const status = (err as { statusCode?: number })?.statusCode
  if (isConnectionError(err)) return new DockerUnavailableError((init.docker.modem as { socketPath?: string }).socketPath ?? 'unknown', { cause: err })
  if (status === 404 && /image/i.test(message)) return new ImageNotAllowedError(init.profile.image, 'is not present on this host')
  if (/runtime/i.test(message) && /unknown|not found|invalid/i.test(message)) {
    return new RuntimeUnavailableError(init.runtime, 'is not registered with Docker', { cause: err })
  }
  return new SandboxError(`Could not start a sandbox: ${message}`, { cause: err })
}

/** Creates and starts a sandbox. On any failure, nothing is left behind. */
export async function createSandbox (init: SandboxInit, options: { signal?: AbortSignal } = {}): Promise<Sandbox> {
  const { docker } = init
  let container: Dockerode.Container
  // If the create call is aborted after the daemon made the container, the nonce finds it again.
  const nonce = randomBytes(8).toString('hex')
  const create = containerOptions(init)
  create.Labels = { ...create.Labels, [`${SANDBOX_LABEL}.nonce`]: nonce }
  try {
    container = await docker.createContainer({ ...create, abortSignal: bounded(options.signal) } as Dockerode.ContainerCreateOptions)
  } catch (err) {
    await removeByNonce(docker, nonce)
    throw mapCreateError(err, init)
  }
  let attached: Duplex | undefined
  let destroyed: Promise<void> | undefined
  const destroy = async (): Promise<void> => {
    // A failed removal is not cached: a later destroy() tries again.
    destroyed ??= removeContainer(container).then(() => { attached?.destroy() }, (err: unknown) => { destroyed = undefined; throw err })
    await destroyed
  }
  try {
    attached = await container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true, abortSignal: bounded(options.signal) } as Dockerode.ContainerAttachOptions) as unknown as Duplex
    // Until the collector is used nobody reads this stream; errors (the container going away) are expected.
    attached.on('error', () => {})
    await container.start({ abortSignal: bounded(options.signal) })
    const info = await container.inspect({ abortSignal: bounded(options.signal) })
    let cgroup: CgroupPaths | undefined
    try {
      cgroup = await findCgroup(info.State.Pid)
    } catch (err) {
      log('no cgroup for sandbox %s: %e', container.id, err)
    }
    log('sandbox %s started (runtime %s)', container.id.slice(0, 12), init.runtime)
    return { id: container.id, container, attached, profile: init.profile, cgroup, destroy }
  } catch (err) {
    await destroy()
    throw mapCreateError(err, init)
  }
}

async function removeContainer (container: Dockerode.Container): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await container.remove({ force: true, v: true, abortSignal: AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS) })
      return
    } catch (err) {
      const status = (err as { statusCode?: number }).statusCode
      if (status === 404) return
      // 409: removal already in progress; wait for it to finish.
      log.error('removing sandbox %s failed (attempt %d): %e', container.id.slice(0, 12), attempt + 1, err)
      await new Promise(resolve => setTimeout(resolve, 200 * (attempt + 1)))
    }
  }
  throw new SandboxError(`Could not remove sandbox container ${container.id}`, { hint: `Remove it by hand: docker rm -f ${container.id}` })
}

async function removeByNonce (docker: Docker, nonce: string): Promise<void> {
  try {
    const list = await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}.nonce=${nonce}`] }, abortSignal: AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS) } as Dockerode.ContainerListOptions)
    await Promise.all(list.map(async c => { await removeContainer(docker.getContainer(c.Id)) }))
  } catch (err) {
    log.error('could not look for a half-created sandbox: %e', err)
  }
}

/** Whether a process with this pid exists on this host. */
export function processAlive (pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes sandboxes that a crashed (`kill -9`) process of the same data dir left behind; sandboxes of
 * a live process sharing the data dir are left alone.
 */
export async function removeLeftoverSandboxes (docker: Docker, home: string, options: { signal?: AbortSignal } = {}): Promise<number> {
  const filters = { label: [`${SANDBOX_LABEL}=${home}`] }
  const list = await docker.listContainers({ all: true, filters, abortSignal: bounded(options.signal) } as Dockerode.ContainerListOptions)
  const orphans = list.filter(c => !processAlive(Number(c.Labels[`${SANDBOX_LABEL}.pid`])))
  await Promise.all(orphans.map(async c => { await removeContainer(docker.getContainer(c.Id)) }))
  return orphans.length
}
