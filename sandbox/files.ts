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
import * as tar from 'tar-stream'
import { ARTIFACT_COLLECT_TIMEOUT_MS, DOCKER_CALL_TIMEOUT_MS, IN_DIR, MAX_ARTIFACTS } from './constants.ts'
import { ClawnodeError } from '../protocol/index.ts'
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

type Entry = tar.ExtractEvents['entry'][1]

/**
 * Copies one tar entry into a file, hashing it on the way; settles only once the file is closed.
 * (Node's stream.pipeline does not notice a tar-stream entry destroyed without an error.)
 */
async function writeEntry (entry: Entry, target: string): Promise<string> {
  const hash = createHash('sha256')
  const file = createWriteStream(target, { mode: 0o644 })
  return await new Promise<string>((resolve, reject) => {
    let ended = false
    const fail = (err: Error): void => { file.destroy(); file.once('close', () => { reject(err) }) }
    entry.on('data', (data) => {
      const chunk = data as Buffer
      hash.update(chunk)
      if (!file.write(chunk)) { entry.pause(); file.once('drain', () => { entry.resume() }) }
    })
    entry.once('end', () => { ended = true; file.end() })
    entry.once('close', () => { if (!ended) fail(new ArtifactLimitError('were cut off mid-file')) })
    file.once('error', (err) => { entry.destroy(); reject(err) })
    file.once('finish', () => { resolve(hash.digest('hex')) })
  })
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
 * `destDir`, checking paths, sizes and counts as the tar arrives and hashing each file as it is
 * written. Call once, after the job has ended and its usage has been read: the sandbox stops when the
 * collector is done. Whatever the job puts on the collector's stdout (it runs as the same user) can at
 * worst fail its own collection: bad bytes are a typed error, never a crash or a leak.
 */
export async function collectArtifacts (sandbox: Sandbox, destDir: string, options: CollectOptions): Promise<Artifact[]> {
  const stream = sandbox.attached
  const signal = AbortSignal.any([AbortSignal.timeout(ARTIFACT_COLLECT_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
  const artifacts: Artifact[] = []
  let total = 0
  let stderr = ''
  let writing: Promise<unknown> = Promise.resolve()
  let current: { destroy: () => void } | undefined
  const extract = tar.extract()
  const end = createTarEndDetector()
  const done = Promise.withResolvers<void>()
  // Handlers go on at once, so an extractor error can never become an unhandled rejection.
  extract.on('error', (err) => { done.reject(new ArtifactLimitError(`are not a valid tar stream (${err.message})`)) })
  extract.on('finish', () => { done.resolve() })
  extract.on('entry', (header, entry, next) => {
    current = entry
    entry.on('error', () => {}) // its failure reaches us through pipeline below
    const write = async (): Promise<void> => {
      const path = entryPath(header.name)
      // Only regular files are artifacts; links and devices are skipped, never followed.
      if (path === undefined || header.type !== 'file') { entry.resume(); return }
      if (artifacts.length >= MAX_ARTIFACTS) throw new ArtifactLimitError(`are more than ${MAX_ARTIFACTS} files`)
      const size = header.size ?? 0
      total += size
      if (total > options.maxBytes) throw new ArtifactLimitError(`are larger than limits.artifactBytes (${options.maxBytes} bytes)`)
      const target = join(destDir, path)
      await mkdir(dirname(target), { recursive: true })
      // The collection may have failed (and torn this entry down) while the directory was made.
      if (entry.destroyed) throw new ArtifactLimitError('were cut off mid-file')
      artifacts.push({ path, size, sha256: await writeEntry(entry, target) })
    }
    writing = write().then(() => { next() }, (err: unknown) => { done.reject(err); next(err as Error) })
  })

  const demux = createDemuxer((which, data) => {
    if (which === 'stderr') {
      if (stderr.length < 4096) stderr += Buffer.from(data).toString('utf8')
      return
    }
    if (end.ended) return
    const archiveBytes = end.push(data)
    const part = archiveBytes < 0 ? data : data.subarray(0, archiveBytes)
    // Back-pressure: stop reading the sandbox while the disk catches up.
    if (!extract.write(Buffer.from(part))) {
      stream.pause()
      extract.once('drain', () => { stream.resume() })
    }
    if (end.ended) extract.end(() => {})
  })
  const onData = (chunk: Buffer): void => {
    try {
      demux.push(chunk)
    } catch (err) {
      done.reject(err instanceof ClawnodeError ? err : new ArtifactLimitError(`are not a valid tar stream (${(err as Error).message})`))
    }
  }
  const onError = (err: Error): void => { done.reject(new SandboxError(`collecting the artifacts failed: ${err.message}`, { cause: err })) }
  // The stream itself ends only once the sandbox has shut down; an end before the archive's end
  // means the collector died.
  const onEnd = (): void => { if (!end.ended) done.reject(new SandboxError(`the sandbox went away while its artifacts were collected${stderr === '' ? '' : `: ${stderr.trim()}`}`)) }
  const onAbort = (): void => { done.reject(new SandboxError('collecting the artifacts did not finish in time', { cause: signal.reason })) }
  stream.on('data', onData)
  stream.once('error', onError)
  stream.once('end', onEnd)
  signal.addEventListener('abort', onAbort, { once: true })
  if (signal.aborted) onAbort()
  try {
    stream.write(NEWLINE)
    await done.promise
    await writing
  } catch (err) {
    // Tear down the entry being written too (destroying the extractor alone leaves it waiting for
    // data), and let its file close before the error goes up, so no handle is left open.
    current?.destroy()
    extract.destroy()
    await writing.catch(() => {})
    throw err
  } finally {
    signal.removeEventListener('abort', onAbort)
    stream.off('data', onData)
    stream.off('error', onError)
    stream.off('end', onEnd)
  }
  if (stderr !== '') throw new SandboxError(`Could not collect all artifacts: ${stderr.trim()}`, { retryable: false, hint: 'Make sure every file in /out is readable by the job\'s own user.' })
  artifacts.sort((a, b) => a.path < b.path ? -1 : 1)
  return artifacts
}

const NEWLINE = Uint8Array.of(0x0a)
