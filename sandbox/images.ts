/**
 * Image archives: loading a `docker save` (or OCI) tar into the local daemon and listing what is there.
 * No registry is involved anywhere; the image ID is the name that matches across hosts.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { ClawnodeError } from '../protocol/index.ts'
import { DOCKER_CALL_TIMEOUT_MS } from './constants.ts'
import type { Docker } from './docker.ts'

export class ImageImportError extends ClawnodeError {
  static override name = 'ImageImportError'
  constructor (message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, hint: 'Check that the file is an image archive made by `docker save` (or an OCI layout tar).' })
  }
}

export interface LocalImage {
  id: string
  tags: string[]
  sizeBytes: number
  created: string
}

export interface ImportProgress { type: 'clawnode:images:import:progress', detail: { bytes: number, total: number } }

/** Loads an image archive; returns the IDs of the images it held. */
export async function importImageArchive (docker: Docker, path: string, options: { signal?: AbortSignal, onProgress?: (e: ImportProgress) => void } = {}): Promise<string[]> {
  let total: number
  try {
    total = (await stat(path)).size
  } catch (err) {
    throw new ImageImportError(`Cannot read ${path}`, { cause: err })
  }
  const file = createReadStream(path)
  let bytes = 0
  file.on('data', (c) => { bytes += c.length; options.onProgress?.({ type: 'clawnode:images:import:progress', detail: { bytes, total } }) })
  let output = ''
  try {
    const response = await docker.loadImage(file, { quiet: true, abortSignal: options.signal } as object)
    for await (const chunk of response as AsyncIterable<Buffer>) {
      output += chunk.toString('utf8')
      if (output.length > 1024 * 1024) throw new ImageImportError('Docker answered with more than 1 MiB of output')
    }
  } catch (err) {
    if (err instanceof ImageImportError) throw err
    throw new ImageImportError(`Docker could not load ${path}: ${(err as Error).message}`, { cause: err })
  } finally {
    file.destroy()
  }
  const ids = new Set<string>()
  const tags: string[] = []
  for (const line of output.split('\n')) {
    if (line.trim() === '') continue
    let msg: { stream?: string, error?: string }
    try { msg = JSON.parse(line) } catch { continue }
    if (msg.error !== undefined) throw new ImageImportError(`Docker could not load ${path}: ${msg.error}`)
    const id = /Loaded image ID: (sha256:[0-9a-f]{64})/.exec(msg.stream ?? '')
    if (id?.[1] !== undefined) ids.add(id[1])
    const tag = /Loaded image: (\S+)/.exec(msg.stream ?? '')
    if (tag?.[1] !== undefined) tags.push(tag[1])
  }
  for (const tag of tags) {
    const image = docker.getImage(tag)
    const info = await (image.inspect as (opts: object) => Promise<{ Id: string }>).call(image, { abortSignal: AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS) })
    ids.add(info.Id)
  }
  if (ids.size === 0) throw new ImageImportError(`${path} held no image Docker could load`)
  return [...ids]
}

export async function listLocalImages (docker: Docker, options: { signal?: AbortSignal } = {}): Promise<LocalImage[]> {
  const images = await docker.listImages({ abortSignal: options.signal } as object)
  return images.map(i => ({
    id: i.Id,
    tags: (i.RepoTags ?? []).filter(t => t !== '<none>:<none>'),
    sizeBytes: i.Size,
    created: new Date(i.Created * 1000).toISOString()
  }))
}
