/**
 * Moves files across the sandbox wall with the keeper's tar: input files into /in before the job,
 * artifacts out of /out after it (tmpfs content lives inside gVisor, invisible to Docker's archive API,
 * so it is streamed out while the sandbox still runs). Artifact paths, sizes and counts are checked
 * as the stream arrives, and each file is hashed as it is written.
 */
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import * as tar from 'tar-stream'
import { ARTIFACT_COLLECT_TIMEOUT_MS, DOCKER_CALL_TIMEOUT_MS, IN_DIR, KEEPER_MOUNT, MAX_ARTIFACTS, OUT_DIR } from './constants.ts'
import { ArtifactLimitError, SandboxError } from './errors.ts'
import { completeExec, runKeeper, startExec } from './exec.ts'
import type { ValidatedJob } from './job-spec.ts'
import type { Sandbox } from './sandbox.ts'

export interface Artifact {
  /** Path relative to /out. */
  path: string
  size: number
  sha256: string
}

async function packInputs (files: ValidatedJob['files']): Promise<Uint8Array> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c) => { chunks.push(c as Buffer) })
  const done = new Promise<void>((resolve, reject) => { pack.on('end', resolve); pack.on('error', reject) })
  const dirs = new Set<string>()
  for (const file of files) {
    const parts = file.path.split('/')
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/')
      if (!dirs.has(dir)) { dirs.add(dir); pack.entry({ name: dir, type: 'directory', mode: 0o755 }) }
    }
    pack.entry({ name: file.path, mode: file.mode, size: file.data.byteLength }, Buffer.from(file.data))
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

/** Writes the job's input files into /in. */
export async function putInputs (sandbox: Sandbox, files: ValidatedJob['files'], options: { signal?: AbortSignal } = {}): Promise<void> {
  if (files.length === 0) return
  const archive = await packInputs(files)
  const { exitCode, stderr } = await runKeeper(sandbox, {
    args: ['tar', '-x', '-f', '-', '-C', IN_DIR],
    stdin: archive,
    onStdout: () => {},
    timeoutMs: DOCKER_CALL_TIMEOUT_MS,
    ...(options.signal === undefined ? {} : { signal: options.signal })
  })
  if (exitCode !== 0) throw new SandboxError(`Could not write the input files (tar exited ${exitCode}: ${stderr.trim()})`, { retryable: false, hint: 'The inputs may not fit in limits.tmpMb; raise it.' })
}

/** A tar entry name as a safe relative path, or undefined for the archive root. */
function entryPath (name: string): string | undefined {
  const parts = name.split('/').filter(p => p !== '' && p !== '.')
  if (parts.length === 0) return undefined
  if (parts.some(p => p === '..')) throw new ArtifactLimitError(`contain an unsafe path (${name.slice(0, 200)})`)
  return parts.join('/')
}

export interface CollectOptions {
  maxBytes: number
  signal?: AbortSignal
}

export interface ArtifactCollector {
  /** Streams /out into `destDir`; call once, after the job has ended. */
  collect: (destDir: string, options: CollectOptions) => Promise<Artifact[]>
  /** Drops the collector without collecting (the job was killed, or its sandbox died). */
  cancel: () => void
}

/**
 * Starts the artifact collector next to the job: a keeper shell that blocks reading its stdin and then
 * tars /out. Starting a process in gVisor costs tens of milliseconds, so it is paid while the job runs
 * rather than after it; the newline sent by `collect` releases it. Polling would burn the job's CPU.
 */
export function startArtifactCollector (sandbox: Sandbox, options: { signal?: AbortSignal } = {}): ArtifactCollector {
  const started = startExec(sandbox, {
    cmd: [KEEPER_MOUNT, 'sh', '-c', `read -r _; exec ${KEEPER_MOUNT} tar -c -f - -C ${OUT_DIR} .`],
    stdin: true,
    ...(options.signal === undefined ? {} : { signal: options.signal })
  })
  // Until collect() is called nobody awaits this; keep a failure from being unhandled.
  started.catch(() => {})
  return {
    // A dying gVisor sandbox may never close an exec stream, so it is closed from this side.
    cancel () { started.then(({ stream }) => { stream.destroy() }, () => {}) },
    async collect (destDir, collectOptions) {
      return await extractArtifacts(destDir, collectOptions, async (onStdout) => await completeExec(await started, {
        stdin: NEWLINE,
        onStdout,
        timeoutMs: ARTIFACT_COLLECT_TIMEOUT_MS,
        ...(collectOptions.signal === undefined ? {} : { signal: collectOptions.signal })
      }))
    }
  }
}

const NEWLINE = Uint8Array.of(0x0a)

/** Parses the tar stream that `produce` writes, checking paths, sizes and counts as it arrives. */
async function extractArtifacts (
  destDir: string,
  options: CollectOptions,
  produce: (onStdout: (chunk: Uint8Array) => void) => Promise<{ exitCode: number, stderr: string }>
): Promise<Artifact[]> {
  const artifacts: Artifact[] = []
  let total = 0
  let failure: Error | undefined
  const extract = tar.extract()
  const finished = new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve)
    extract.on('error', reject)
  })
  extract.on('entry', (header, stream, next) => {
    const run = async (): Promise<void> => {
      const path = entryPath(header.name)
      // Only regular files are artifacts; links and devices are skipped, never followed.
      if (path === undefined || header.type !== 'file') { stream.resume(); return }
      if (artifacts.length >= MAX_ARTIFACTS) throw new ArtifactLimitError(`are more than ${MAX_ARTIFACTS} files`)
      const size = header.size ?? 0
      total += size
      if (total > options.maxBytes) throw new ArtifactLimitError(`are larger than limits.artifactBytes (${options.maxBytes} bytes)`)
      const target = join(destDir, path)
      await mkdir(dirname(target), { recursive: true })
      const hash = createHash('sha256')
      stream.on('data', (c) => { hash.update(c as Buffer) })
      await pipeline(stream, createWriteStream(target, { mode: 0o644 }))
      artifacts.push({ path, size, sha256: hash.digest('hex') })
    }
    run().then(() => { next() }, (err: Error) => { failure ??= err; stream.resume(); next() })
  })

  const { exitCode, stderr } = await produce((chunk) => { extract.write(Buffer.from(chunk)) })
  extract.end(() => {})
  await finished
  if (failure !== undefined) throw failure
  if (exitCode !== 0) throw new SandboxError(`Could not collect artifacts (tar exited ${exitCode}: ${stderr.trim()})`)
  artifacts.sort((a, b) => a.path < b.path ? -1 : 1)
  return artifacts
}
