/**
 * One error class per condition the sandbox can meet. Each says what happened and what to do, and
 * whether trying again can help; `result.json` stores them by name.
 */
import { ClawnodeError } from '../protocol/index.ts'
import type { ClawnodeErrorOptions } from '../protocol/index.ts'

/** A field of a JobSpec is missing, of the wrong type, or malformed. */
export class InvalidJobSpecError extends ClawnodeError {
  static override name = 'InvalidJobSpecError'
  readonly field: string
  constructor (field: string, problem: string, options: ClawnodeErrorOptions = {}) {
    super(`Invalid job spec: ${field} ${problem}`, { hint: 'Fix the job spec (see sandbox/schema/job-spec.v1.json) and submit it again.', ...options })
    this.field = field
  }
}

/** A limit is outside what this provider allows. */
export class LimitOutOfRangeError extends ClawnodeError {
  static override name = 'LimitOutOfRangeError'
  readonly field: string
  readonly min: number
  readonly max: number
  readonly value: number
  constructor (field: string, value: number, min: number, max: number) {
    super(`Invalid job spec: ${field} is ${value}, allowed range is ${min}..${max}`, {
      hint: `Ask for ${field} between ${min} and ${max}.`
    })
    this.field = field
    this.value = value
    this.min = min
    this.max = max
  }
}

/** A field is larger than its cap (env, stdin, argv, input files). */
export class SpecTooLargeError extends ClawnodeError {
  static override name = 'SpecTooLargeError'
  readonly field: string
  readonly limit: number
  readonly size: number
  constructor (field: string, size: number, limit: number, unit = 'bytes') {
    super(`Invalid job spec: ${field} is ${size} ${unit}, the limit is ${limit} ${unit}`, {
      hint: `Shrink ${field} to at most ${limit} ${unit}, or ship large inputs as an image layer.`
    })
    this.field = field
    this.size = size
    this.limit = limit
  }
}

/** An input file path that could escape the input directory or is otherwise unsafe. */
export class UnsafePathError extends ClawnodeError {
  static override name = 'UnsafePathError'
  readonly field: string
  readonly path: string
  constructor (field: string, path: string, problem: string) {
    super(`Invalid job spec: ${field} path ${JSON.stringify(path.slice(0, 300))} ${problem}`, {
      hint: 'Use relative paths made of plain names separated by "/", without "..", "." or empty parts.'
    })
    this.field = field
    this.path = path
  }
}

/** The image is not on this provider's allowlist (or not present locally). */
export class ImageNotAllowedError extends ClawnodeError {
  static override name = 'ImageNotAllowedError'
  readonly image: string
  constructor (image: string, problem = 'is not on this provider\'s allowlist') {
    super(`Image ${image} ${problem}`, {
      hint: 'The operator decides which images run: `clawnode images import <tar>` then `clawnode images allow <image-id>`.'
    })
    this.image = image
  }
}

/** The Docker daemon cannot be reached. */
export class DockerUnavailableError extends ClawnodeError {
  static override name = 'DockerUnavailableError'
  constructor (socket: string, options: ClawnodeErrorOptions = {}) {
    super(`Cannot reach the Docker daemon at ${socket}`, {
      hint: 'Start Docker (`sudo systemctl start docker`), or set DOCKER_HOST; if it is not installed, run `sudo scripts/setup-host.sh`. Then run `clawnode doctor`.',
      retryable: true,
      ...options
    })
  }
}

/** The requested container runtime is not registered with Docker, or fails to start sandboxes. */
export class RuntimeUnavailableError extends ClawnodeError {
  static override name = 'RuntimeUnavailableError'
  readonly runtime: string
  constructor (runtime: string, problem: string, options: ClawnodeErrorOptions = {}) {
    super(`Container runtime ${runtime} ${problem}`, {
      hint: 'Install gVisor and register it with Docker: `sudo scripts/setup-host.sh`, then `clawnode doctor`.',
      ...options
    })
    this.runtime = runtime
  }
}

/** The static busybox mounted into sandboxes (to hold them open and move files) is missing. */
export class KeeperMissingError extends ClawnodeError {
  static override name = 'KeeperMissingError'
  constructor (problem: string) {
    super(`The sandbox helper is unusable: ${problem}`, {
      hint: 'Install a static busybox (`sudo apt-get install busybox-static`, or `sudo scripts/setup-host.sh`) or set sandbox.keeper in the config to one.'
    })
  }
}

/** Creating, starting or talking to a sandbox failed. */
export class SandboxError extends ClawnodeError {
  static override name = 'SandboxError'
  constructor (message: string, options: ClawnodeErrorOptions = {}) {
    super(message, { hint: 'Check `clawnode doctor`; the job may be retried.', retryable: true, ...options })
  }
}

/** The job ran past its wall-clock limit and was killed. */
export class JobTimeoutError extends ClawnodeError {
  static override name = 'JobTimeoutError'
  constructor (wallMs: number) {
    super(`The job ran longer than its wall-clock limit of ${wallMs} ms and was killed`, {
      hint: 'Raise limits.wallMs or make the job do less.'
    })
  }
}

/** The job was cancelled by its caller (consumer abort, node shutdown). */
export class JobCancelledError extends ClawnodeError {
  static override name = 'JobCancelledError'
  constructor (options: ClawnodeErrorOptions = {}) {
    super('The job was cancelled before it finished', { hint: 'Submit it again if you still want the result.', retryable: true, ...options })
  }
}

/** stdout + stderr exceeded limits.outputBytes; the job was stopped. */
export class OutputLimitError extends ClawnodeError {
  static override name = 'OutputLimitError'
  constructor (limit: number) {
    super(`The job wrote more than its output limit of ${limit} bytes to stdout and stderr and was stopped`, {
      hint: 'Raise limits.outputBytes, or write large results to /out as artifacts.'
    })
  }
}

/** The artifacts in /out exceed limits.artifactBytes or the file count. */
export class ArtifactLimitError extends ClawnodeError {
  static override name = 'ArtifactLimitError'
  constructor (problem: string) {
    super(`The job's artifacts ${problem}`, { hint: 'Raise limits.artifactBytes, or write fewer or smaller files to /out.' })
  }
}

/** The sandbox ran out of memory; gVisor reports this as the whole sandbox being killed. */
export class OutOfMemoryError extends ClawnodeError {
  static override name = 'OutOfMemoryError'
  constructor (limitMb: number) {
    super(`The job ran out of memory (limit ${limitMb} MB, which includes about 20 MB of gVisor's own)`, {
      hint: 'Raise limits.memoryMb or make the job use less memory.'
    })
  }
}

/** The job exited with a non-zero code. */
export class JobFailedError extends ClawnodeError {
  static override name = 'JobFailedError'
  readonly exitCode: number
  constructor (exitCode: number) {
    super(`The job exited with code ${exitCode}`, { hint: 'Read the job\'s stderr (logs/stderr.log in its run directory).' })
    this.exitCode = exitCode
  }
}

/** The sandbox died underneath the job for a reason the runner could not pin down. */
export class SandboxDiedError extends ClawnodeError {
  static override name = 'SandboxDiedError'
  constructor (detail: string) {
    super(`The sandbox stopped while the job was running (${detail})`, {
      hint: 'The job may have hit its pids or memory limit; raise limits.pids or limits.memoryMb, or retry.',
      retryable: true
    })
  }
}
