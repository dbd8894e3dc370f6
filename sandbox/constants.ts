/**
 * Defaults and hard limits of the sandbox layer. Every number a job spec or the runner is bounded by
 * lives here and is listed in LIMITS.md.
 */

/** Version of the JobSpec and JobResult formats (`sandbox/schema/job-spec.v1.json`). */
export const JOB_SPEC_VERSION = 1
export const JOB_RESULT_VERSION = 1

/** Docker runtime name of gVisor, and the only runtime used unless the operator opts into runc. */
export const DEFAULT_RUNTIME = 'runsc'

/** uid:gid every job runs as ("nobody" on Debian); never root. */
export const DEFAULT_JOB_USER = '65534:65534'

/** Where the host's static busybox is mounted read-only inside every sandbox (see sandbox.ts). */
export const KEEPER_MOUNT = '/.clawnode/busybox'
export const DEFAULT_KEEPER_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox']

/** Paths inside the sandbox: input files and the working directory, the artifacts dir, scratch. */
export const IN_DIR = '/in'
export const OUT_DIR = '/out'
export const TMP_DIR = '/tmp'

/** Label put on every container the runner creates, so leftovers can be found and removed. */
export const SANDBOX_LABEL = 'io.clawnode.sandbox'

/**
 * The job's process limit is RLIMIT_NPROC inside the sandbox, which gVisor enforces (fork fails with
 * EAGAIN). The host pids cgroup is only a backstop, and it counts gVisor's host threads: about 45 for
 * an idle sandbox and about 9 more per process the job runs (measured: 30 sleeping processes, 317
 * host threads). So the host limit is a base plus a per-process allowance, well above what a job held
 * to its RLIMIT_NPROC can reach; hitting it would kill the whole sandbox.
 */
export const GVISOR_PIDS_BASE = 64
export const GVISOR_PIDS_PER_PROCESS = 16

/** Processes of ours inside each sandbox, as the job's user: the keeper (which becomes the collector). */
export const KEEPER_PROCESSES = 1

/** Interval at which the runner polls a job whose output streams closed before its process ended. */
export const EXEC_POLL_INTERVAL_MS = 50

/** Interval at which the runner samples the sandbox's cgroup while a job runs. */
export const CGROUP_SAMPLE_INTERVAL_MS = 100

/** Defaults applied to a spec's missing limits. */
export const DEFAULT_LIMITS = {
  cpus: 1,
  memoryMb: 256,
  pids: 64,
  wallMs: 60_000,
  outputBytes: 1024 * 1024,
  artifactBytes: 8 * 1024 * 1024,
  tmpMb: 64
} as const

/** The largest limits a spec may ask for unless the operator's policy lowers or raises them. */
export const DEFAULT_MAX_LIMITS = {
  cpus: 8,
  memoryMb: 16 * 1024,
  pids: 1024,
  wallMs: 24 * 60 * 60 * 1000,
  outputBytes: 64 * 1024 * 1024,
  artifactBytes: 1024 * 1024 * 1024,
  tmpMb: 4 * 1024
} as const

/** The smallest limits that still let a gVisor sandbox start. */
export const MIN_LIMITS = {
  cpus: 0.05,
  memoryMb: 32,
  pids: 1,
  wallMs: 100,
  outputBytes: 0,
  artifactBytes: 0,
  tmpMb: 1
} as const

/** Size and count caps on the spec itself (checked before anything else). */
export const MAX_ARGV_ITEMS = 256
export const MAX_ARG_BYTES = 64 * 1024
export const MAX_ENV_VARS = 256
export const MAX_ENV_BYTES = 64 * 1024
export const MAX_STDIN_BYTES = 4 * 1024 * 1024
export const MAX_INPUT_FILES = 256
export const MAX_INPUT_FILE_BYTES = 16 * 1024 * 1024
export const MAX_INPUT_TOTAL_BYTES = 32 * 1024 * 1024
export const MAX_PATH_BYTES = 255
export const MAX_PATH_DEPTH = 16
/** A serialized spec larger than this is refused before parsing. */
export const MAX_SPEC_BYTES = 48 * 1024 * 1024

/** Artifacts: how many files the output dir may hold. */
export const MAX_ARTIFACTS = 1024

/** Time allowed for Docker calls around the job (create, start, exec set-up, remove). */
export const DOCKER_CALL_TIMEOUT_MS = 30_000
/** Time allowed to copy the artifacts out before the sandbox is destroyed. */
export const ARTIFACT_COLLECT_TIMEOUT_MS = 60_000

/** Warm pool defaults. */
export const DEFAULT_POOL_SIZE = 0
export const MAX_POOL_SIZE = 64
/** Back-off after a failed replenish, doubled per failure up to the max. */
export const POOL_RETRY_MIN_MS = 500
export const POOL_RETRY_MAX_MS = 30_000
