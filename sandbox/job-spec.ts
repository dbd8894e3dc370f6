/**
 * The JobSpec: what a consumer asks a provider to run, as plain JSON data (leases carry it), and its
 * validation. Pure: no Docker, no disk. Every violation is a typed error naming the field and the limit.
 * The JSON schema of the same format is `schema/job-spec.v1.json`.
 */
import {
  DEFAULT_LIMITS, DEFAULT_MAX_LIMITS, JOB_SPEC_VERSION, MAX_ARGV_ITEMS, MAX_ARG_BYTES, MAX_ENV_BYTES,
  MAX_ENV_VARS, MAX_INPUT_FILES, MAX_INPUT_FILE_BYTES, MAX_INPUT_TOTAL_BYTES, MAX_PATH_BYTES,
  MAX_PATH_DEPTH, MAX_STDIN_BYTES, MIN_LIMITS
} from './constants.ts'
import { InvalidJobSpecError, LimitOutOfRangeError, SpecTooLargeError, UnsafePathError } from './errors.ts'

/** Bytes given either as UTF-8 text or as base64. */
export type Bytes = { text: string } | { base64: string }

export interface JobLimits {
  /** CPU cores (fractional), enforced as a CFS quota. */
  cpus: number
  /** Memory of the whole sandbox in MiB, swap included (gVisor's own ~20 MiB count against it). */
  memoryMb: number
  /** Processes the job may run at once. */
  pids: number
  /** Wall-clock limit of the job in ms. */
  wallMs: number
  /** Cap on stdout + stderr bytes; the job is stopped when it writes more. */
  outputBytes: number
  /** Cap on the files collected from /out. */
  artifactBytes: number
  /** Size of the /tmp tmpfs in MiB. */
  tmpMb: number
}

export interface InputFile {
  /** Relative path under /in, the job's working directory. */
  path: string
  content: Bytes
  /** File mode bits (default 0o644; 0o755 for scripts). */
  mode?: number
}

export interface JobSpec {
  version: 1
  /** Image ID (`sha256:` + 64 hex): the one name that is the same on every host. */
  image: string
  argv: string[]
  env?: Record<string, string>
  stdin?: Bytes
  files?: InputFile[]
  limits?: Partial<JobLimits>
}

/** A spec after validation: bytes decoded, limits filled in. */
export interface ValidatedJob {
  image: string
  argv: string[]
  env: Array<[string, string]>
  stdin: Uint8Array | undefined
  files: Array<{ path: string, data: Uint8Array, mode: number }>
  limits: JobLimits
}

export interface JobPolicy {
  /** The largest limits this provider accepts; missing ones fall back to DEFAULT_MAX_LIMITS. */
  maxLimits?: Partial<JobLimits>
}

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/
const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS) as Array<keyof JobLimits>
const SPEC_KEYS = new Set(['version', 'image', 'argv', 'env', 'stdin', 'files', 'limits'])
const INTEGER_LIMITS = new Set<keyof JobLimits>(['memoryMb', 'pids', 'wallMs', 'outputBytes', 'artifactBytes', 'tmpMb'])
const encoder = new TextEncoder()

function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function decodeBytes (field: string, value: unknown, limit: number): Uint8Array {
  if (!isRecord(value)) throw new InvalidJobSpecError(field, 'must be {"text": string} or {"base64": string}')
  if (typeof value.text === 'string' && value.base64 === undefined) {
    // Check the cheap upper bound first so a huge string costs nothing to refuse.
    if (value.text.length > limit) throw new SpecTooLargeError(field, value.text.length, limit)
    const bytes = encoder.encode(value.text)
    if (bytes.byteLength > limit) throw new SpecTooLargeError(field, bytes.byteLength, limit)
    return bytes
  }
  if (typeof value.base64 === 'string' && value.text === undefined) {
    const estimate = Math.floor(value.base64.length * 3 / 4)
    if (estimate > limit + 2) throw new SpecTooLargeError(field, estimate, limit)
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value.base64) || value.base64.length % 4 !== 0) {
      throw new InvalidJobSpecError(field, 'is not valid base64')
    }
    const bytes = Buffer.from(value.base64, 'base64')
    if (bytes.byteLength > limit) throw new SpecTooLargeError(field, bytes.byteLength, limit)
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }
  throw new InvalidJobSpecError(field, 'must have exactly one of "text" or "base64"')
}

/** Checks a relative input path: plain names joined by "/", no way out of /in. */
export function checkInputPath (field: string, path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw new InvalidJobSpecError(field, 'must be a non-empty string')
  if (encoder.encode(path).byteLength > MAX_PATH_BYTES) throw new SpecTooLargeError(field, encoder.encode(path).byteLength, MAX_PATH_BYTES)
  if (path.startsWith('/')) throw new UnsafePathError(field, path, 'is absolute')
  if (path.includes('\\')) throw new UnsafePathError(field, path, 'contains a backslash')
  if (/[\u0000-\u001f\u007f]/.test(path)) throw new UnsafePathError(field, path, 'contains control characters')
  const parts = path.split('/')
  if (parts.length > MAX_PATH_DEPTH) throw new UnsafePathError(field, path, `is deeper than ${MAX_PATH_DEPTH} levels`)
  for (const part of parts) {
    if (part === '..') throw new UnsafePathError(field, path, 'climbs out with ".."')
    if (part === '' || part === '.') throw new UnsafePathError(field, path, 'has an empty or "." part')
  }
  return path
}

function checkLimits (value: unknown, policy: JobPolicy): JobLimits {
  if (value !== undefined && !isRecord(value)) throw new InvalidJobSpecError('limits', 'must be an object')
  const given = value ?? {}
  for (const key of Object.keys(given)) {
    if (!(LIMIT_KEYS as string[]).includes(key)) throw new InvalidJobSpecError(`limits.${key}`, `is not a known limit (known: ${LIMIT_KEYS.join(', ')})`)
  }
  const limits = { ...DEFAULT_LIMITS } as JobLimits
  for (const key of LIMIT_KEYS) {
    const max = policy.maxLimits?.[key] ?? DEFAULT_MAX_LIMITS[key]
    const min = MIN_LIMITS[key]
    const raw = given[key]
    if (raw === undefined) {
      limits[key] = Math.min(DEFAULT_LIMITS[key], max)
      continue
    }
    if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new InvalidJobSpecError(`limits.${key}`, 'must be a finite number')
    if (INTEGER_LIMITS.has(key) && !Number.isInteger(raw)) throw new InvalidJobSpecError(`limits.${key}`, 'must be an integer')
    if (raw < min || raw > max) throw new LimitOutOfRangeError(`limits.${key}`, raw, min, max)
    limits[key] = raw
  }
  return limits
}

/**
 * Validates untrusted input as a JobSpec under a provider's policy. Throws the first violation found;
 * returns the decoded job otherwise. Costs at most a pass over the given data.
 */
export function validateJobSpec (input: unknown, policy: JobPolicy = {}): ValidatedJob {
  if (!isRecord(input)) throw new InvalidJobSpecError('spec', 'must be a JSON object')
  for (const key of Object.keys(input)) {
    if (!SPEC_KEYS.has(key)) throw new InvalidJobSpecError(key, 'is not a JobSpec field')
  }
  if (input.version !== JOB_SPEC_VERSION) throw new InvalidJobSpecError('version', `must be ${JOB_SPEC_VERSION}`)
  if (typeof input.image !== 'string' || !IMAGE_ID.test(input.image)) {
    throw new InvalidJobSpecError('image', 'must be an image ID: "sha256:" followed by 64 lowercase hex digits (see `clawnode images list`)')
  }

  const argv = input.argv
  if (!Array.isArray(argv) || argv.length === 0) throw new InvalidJobSpecError('argv', 'must be a non-empty array of strings')
  if (argv.length > MAX_ARGV_ITEMS) throw new SpecTooLargeError('argv', argv.length, MAX_ARGV_ITEMS, 'items')
  let argBytes = 0
  argv.forEach((arg: unknown, i) => {
    if (typeof arg !== 'string') throw new InvalidJobSpecError(`argv[${i}]`, 'must be a string')
    if (arg.includes('\u0000')) throw new InvalidJobSpecError(`argv[${i}]`, 'contains a NUL byte')
    argBytes += encoder.encode(arg).byteLength + 1
  })
  if (argBytes > MAX_ARG_BYTES) throw new SpecTooLargeError('argv', argBytes, MAX_ARG_BYTES)

  const env: Array<[string, string]> = []
  if (input.env !== undefined) {
    if (!isRecord(input.env)) throw new InvalidJobSpecError('env', 'must be an object of strings')
    const entries = Object.entries(input.env)
    if (entries.length > MAX_ENV_VARS) throw new SpecTooLargeError('env', entries.length, MAX_ENV_VARS, 'variables')
    let envBytes = 0
    for (const [name, value] of entries) {
      if (!ENV_NAME.test(name)) throw new InvalidJobSpecError(`env.${name.slice(0, 64)}`, 'is not a valid variable name')
      if (typeof value !== 'string') throw new InvalidJobSpecError(`env.${name}`, 'must be a string')
      if (value.includes('\u0000')) throw new InvalidJobSpecError(`env.${name}`, 'contains a NUL byte')
      envBytes += name.length + 1 + (value.length > MAX_ENV_BYTES ? value.length : encoder.encode(value).byteLength) + 1
      if (envBytes > MAX_ENV_BYTES) throw new SpecTooLargeError('env', envBytes, MAX_ENV_BYTES)
      env.push([name, value])
    }
  }

  const stdin = input.stdin === undefined ? undefined : decodeBytes('stdin', input.stdin, MAX_STDIN_BYTES)

  const files: ValidatedJob['files'] = []
  if (input.files !== undefined) {
    if (!Array.isArray(input.files)) throw new InvalidJobSpecError('files', 'must be an array')
    if (input.files.length > MAX_INPUT_FILES) throw new SpecTooLargeError('files', input.files.length, MAX_INPUT_FILES, 'files')
    const seen = new Set<string>()
    let total = 0
    input.files.forEach((file: unknown, i) => {
      const field = `files[${i}]`
      if (!isRecord(file)) throw new InvalidJobSpecError(field, 'must be an object')
      const path = checkInputPath(`${field}.path`, file.path)
      // A file and a directory of the same name, or the same file twice, would overwrite each other.
      for (const other of seen) {
        if (other === path || other.startsWith(path + '/') || path.startsWith(other + '/')) {
          throw new InvalidJobSpecError(`${field}.path`, `collides with another input file (${other})`)
        }
      }
      seen.add(path)
      const mode = file.mode ?? 0o644
      if (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777) {
        throw new InvalidJobSpecError(`${field}.mode`, 'must be permission bits between 0 and 0o777 (no setuid, setgid or sticky)')
      }
      const data = decodeBytes(`${field}.content`, file.content, MAX_INPUT_FILE_BYTES)
      total += data.byteLength
      if (total > MAX_INPUT_TOTAL_BYTES) throw new SpecTooLargeError('files', total, MAX_INPUT_TOTAL_BYTES)
      files.push({ path, data, mode })
    })
  }

  const limits = checkLimits(input.limits, policy)
  return { image: input.image, argv: argv as string[], env, stdin, files, limits }
}
