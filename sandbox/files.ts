/**
 * Moves files across the sandbox wall with the keeper's tar: input files into /in before the job,
 * artifacts out of /out after it (tmpfs content lives inside gVisor, invisible to Docker's archive API,
 * so it is streamed out before the sandbox goes). Artifact paths, sizes and counts are checked as the
 * stream arrives, and each file is hashed as it is written.
 */
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import * as tar from 'tar-stream'
import { ARTIFACT_COLLECT_TIMEOUT_MS, DOCKER_CALL_TIMEOUT_MS, IN_DIR, MAX_ARTIFACTS } from './constants.ts'
import { ArtifactLimitError, SandboxError } from './errors.ts'
import { createDemuxer } from './demux.ts'
import { createTarEndDetector } from './tar-end.ts'
import { runKeeper } from './exec.ts'
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

/**
 * Releases the sandbox's collector (its first process, see sandbox.ts) and streams /out into
 * `destDir`. Call once, after the job has ended and its usage has been read: the sandbox stops when
 * the collector is done.
 */
export async function collectArtifacts (sandbox: Sandbox, destDir: string, options: CollectOptions): Promise<Artifact[]> {
  const stream = sandbox.attached
  const signal = AbortSignal.any([AbortSignal.timeout(ARTIFACT_COLLECT_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
  return await extractArtifacts(destDir, options, async (onStdout) => {
    let stderr = ''
    const end = createTarEndDetector()
    let done = (): void => {}
    const demux = createDemuxer((which, data) => {
      if (which === 'stdout') {
        if (end.ended) return
        onStdout(data)
        if (end.push(data)) done()
      } else if (stderr.length < 4096) stderr += Buffer.from(data).toString('utf8')
    })
    await new Promise<void>((resolve, reject) => {
      done = () => { signal.removeEventListener('abort', onAbort); resolve() }
      const fail = (err: Error): void => { signal.removeEventListener('abort', onAbort); reject(err) }
      const onAbort = (): void => { stream.destroy(); fail(new SandboxError('collecting the artifacts did not finish in time', { cause: signal.reason })) }
      if (signal.aborted) { onAbort(); return }
      signal.addEventListener('abort', onAbort, { once: true })
      stream.on('data', (chunk: Buffer) => { try { demux.push(chunk) } catch (err) { stream.destroy(err as Error) } })
      stream.once('error', (err) => { fail(new SandboxError(`collecting the artifacts failed: ${err.message}`, { cause: err })) })
      // The stream itself ends only once the sandbox has shut down; an end before the archive's end
      // means the collector died.
      stream.once('end', () => { if (end.ended) done(); else fail(new SandboxError(`the sandbox went away while its artifacts were collected${stderr === '' ? '' : `: ${stderr.trim()}`}`)) })
      stream.write(NEWLINE)
    })
    return { exitCode: stderr === '' ? 0 : 1, stderr }
  })
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
  if (exitCode !== 0) throw new SandboxError(`Could not collect all artifacts: ${stderr.trim()}`, { retryable: false, hint: 'Make sure every file in /out is readable by the job\'s own user.' })
  artifacts.sort((a, b) => a.path < b.path ? -1 : 1)
  return artifacts
}
