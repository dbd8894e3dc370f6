/**
 * What the load probes found, kept in `<data>/model-probes.json`: before a provider advertises a model
 * it loads it in its own process and decodes one token (node/model-host.ts), because a file can pass
 * the header checks (model-file.ts) and still abort llama.cpp at load or at the first decode. Results
 * are keyed by the file's sha256 and size and by the node-llama-cpp version that ran the probe, so an
 * unchanged file is probed once, a bad file stays marked broken until it changes, and an upgraded
 * llama.cpp probes again. Never loads node-llama-cpp.
 */
import { open, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { logger } from '@libp2p/logger'
import { ClawnodeError, serializeError } from '../../protocol/index.ts'
import { writeFileAtomic } from '../atomic-file.ts'
import { MAX_PROBE_FILE_BYTES, MAX_PROBE_MESSAGE_LENGTH, MAX_PROBE_RESULTS } from './constants.ts'
import type { SerializedError } from '../../protocol/index.ts'
import type { FileHandle } from 'node:fs/promises'

const log = logger('clawnode:llama:probes')

export { fileDigest } from './digest.ts'

export const PROBE_FILE = 'model-probes.json'

/** Where a model failed: loading, its first decode (both in the probe), or serving a request later. */
export type ProbePhase = 'load' | 'decode' | 'serving'

export interface ProbeResult {
  sha256: string
  sizeBytes: number
  /** The node-llama-cpp version that ran it. */
  llama: string
  /** The model id the file had then (for people reading the file). */
  id: string
  ok: boolean
  phase?: ProbePhase
  error?: SerializedError
  /** ISO time of the result. */
  at: string
}

export interface ProbeStore {
  readonly path: string
  /** The result for this file content from this node-llama-cpp, if there is one. */
  get: (file: { sha256: string, sizeBytes: number }) => ProbeResult | undefined
  /** Records a result (in memory; save() writes it). */
  set: (file: { id: string, sha256: string, sizeBytes: number }, result: { ok: true } | { ok: false, phase: ProbePhase, error: unknown }) => void
  /** Writes the results atomically; writes never overlap. */
  save: () => Promise<void>
  /** Why the kept results were not used, when the file was there but too large, unreadable or not JSON. */
  readonly invalid?: ProbeFileInvalidError
}

/** A model failed its probe (or crashed later): what happened, and what the operator can do. */
export class ModelProbeFailedError extends ClawnodeError {
  static override name = 'ModelProbeFailedError'
  constructor (id: string, phase: ProbePhase, cause: unknown, options: { file?: string } = {}) {
    const why = ((cause as Error)?.message ?? String(cause)).slice(0, MAX_PROBE_MESSAGE_LENGTH)
    const where = phase === 'load' ? 'failed to load' : phase === 'decode' ? 'failed at its first decode' : 'crashed while serving'
    super(`The model ${id} ${where}, so it is not advertised: ${why}`, {
      cause,
      hint: 'The file is probably corrupt or unsupported by this llama.cpp: replace it with a good copy (check its sha256 against the source) or remove it. ' +
        `A changed file is probed again at the next start; to probe an unchanged one again (if memory, not the file, was the cause), delete ${options.file ?? join('<data>', PROBE_FILE)}.`
    })
  }
}

/**
 * Whether an error says the file is bad, so that the result is kept: llama.cpp refused the file
 * (a format error), or its process died on its own (an abort or a fault). A load that failed for
 * want of memory or VRAM (node-llama-cpp's InsufficientMemoryError, a context it could not allocate)
 * or because llama.cpp could not start, a process killed with SIGKILL (a timeout, the OOM killer) or
 * a probe that ran out of time says nothing about the file: the model is probed again at the next start.
 */
export function isFileFault (err: unknown): boolean {
  const e = err as { name?: string, signal?: string, failure?: string }
  if (e?.name === 'ModelLoadError') return e.failure === 'file'
  return e?.name === 'ModelCrashedError' && e.signal !== 'SIGKILL'
}

/** The kept results could not be used (too large, not JSON): none are used, and every model is probed again. */
export class ProbeFileInvalidError extends ClawnodeError {
  static override name = 'ProbeFileInvalidError'
  constructor (path: string, why: string, options: { cause?: unknown } = {}) {
    super(`Ignoring the probe results in ${path} (${why}): every model is probed again`, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      hint: 'Nothing to do: the next probe result replaces the file. Delete it to be rid of this message sooner.'
    })
  }
}

/** The file's text, read no further than MAX_PROBE_FILE_BYTES (undefined when there is none). */
async function readBounded (path: string): Promise<string | undefined> {
  let file: FileHandle
  try {
    file = await open(path, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new ProbeFileInvalidError(path, 'unreadable', { cause: err })
  }
  try {
    // One byte more than allowed tells an oversized file from one exactly at the limit (the read is
    // bounded even if the file grows after the stat).
    const { size } = await file.stat()
    if (size > MAX_PROBE_FILE_BYTES) throw new ProbeFileInvalidError(path, `over ${MAX_PROBE_FILE_BYTES} bytes`)
    const buf = Buffer.alloc(size + 1)
    let n = 0
    while (n < buf.length) {
      const { bytesRead } = await file.read(buf, n, buf.length - n, n)
      if (bytesRead === 0) break
      n += bytesRead
    }
    if (n > MAX_PROBE_FILE_BYTES) throw new ProbeFileInvalidError(path, `over ${MAX_PROBE_FILE_BYTES} bytes`)
    return buf.toString('utf8', 0, n)
  } finally {
    await file.close()
  }
}

let version: Promise<string> | undefined
/** node-llama-cpp's version, read from its package.json without loading it. */
async function llamaVersion (): Promise<string> {
  version ??= (async () => {
    try {
      const main = fileURLToPath(import.meta.resolve('node-llama-cpp'))
      const pkg = JSON.parse(await readFile(join(dirname(main), '..', 'package.json'), 'utf8')) as { version?: unknown }
      return typeof pkg.version === 'string' ? pkg.version.slice(0, 64) : 'unknown'
    } catch {
      return 'unknown'
    }
  })()
  return await version
}

function parseResult (v: unknown): ProbeResult | undefined {
  const r = (typeof v === 'object' && v !== null ? v : {}) as Record<string, unknown>
  if (typeof r.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.sha256) || typeof r.sizeBytes !== 'number' || typeof r.llama !== 'string' || typeof r.ok !== 'boolean' || typeof r.at !== 'string') return undefined
  const e = (typeof r.error === 'object' && r.error !== null ? r.error : undefined) as Record<string, unknown> | undefined
  const error = e === undefined ? undefined : { name: String(e.name).slice(0, 64), message: String(e.message).slice(0, MAX_PROBE_MESSAGE_LENGTH * 2), retryable: false, hint: String(e.hint ?? '').slice(0, MAX_PROBE_MESSAGE_LENGTH * 2) }
  const phase = r.phase === 'load' || r.phase === 'decode' || r.phase === 'serving' ? r.phase : undefined
  if (!r.ok && (error === undefined || phase === undefined)) return undefined
  return { sha256: r.sha256, sizeBytes: r.sizeBytes, llama: r.llama.slice(0, 64), id: String(r.id ?? '').slice(0, 128), ok: r.ok, ...(phase === undefined ? {} : { phase }), ...(error === undefined ? {} : { error }), at: r.at.slice(0, 64) }
}

/** Reads `<dataDir>/model-probes.json` (none yet, or unreadable: no results, and the models are probed again). */
export async function openProbeStore (dataDir: string): Promise<ProbeStore> {
  const path = join(dataDir, PROBE_FILE)
  const llama = await llamaVersion()
  const results = new Map<string, ProbeResult>()
  let invalid: ProbeFileInvalidError | undefined
  try {
    const text = await readBounded(path)
    let data: { results?: unknown } | undefined
    try {
      data = text === undefined ? undefined : JSON.parse(text) as { results?: unknown }
    } catch (err) {
      throw new ProbeFileInvalidError(path, 'not JSON', { cause: err })
    }
    for (const v of Array.isArray(data?.results) ? data.results.slice(0, MAX_PROBE_RESULTS) : []) {
      const r = parseResult(v)
      if (r !== undefined) results.set(r.sha256, r)
    }
  } catch (err) {
    invalid = err instanceof ProbeFileInvalidError ? err : new ProbeFileInvalidError(path, 'unreadable', { cause: err })
    log.error('%s', invalid.message)
  }
  let writing: Promise<void> = Promise.resolve()
  return {
    path,
    ...(invalid === undefined ? {} : { invalid }),
    get (file) {
      const r = results.get(file.sha256)
      return r !== undefined && r.sizeBytes === file.sizeBytes && r.llama === llama ? r : undefined
    },
    set (file, result) {
      results.delete(file.sha256)
      results.set(file.sha256, { sha256: file.sha256, sizeBytes: file.sizeBytes, llama, id: file.id, ok: result.ok, ...(result.ok ? {} : { phase: result.phase, error: serializeError(result.error) }), at: new Date().toISOString() })
      // Bounded: the oldest results go first (a Map iterates in insertion order).
      for (const key of results.keys()) {
        if (results.size <= MAX_PROBE_RESULTS) break
        results.delete(key)
      }
    },
    async save () {
      const data = JSON.stringify({ results: [...results.values()] }, null, 1) + '\n'
      writing = writing.catch(() => {}).then(async () => { await writeFileAtomic(path, data, 0o600) })
      await writing
    }
  }
}
