/**
 * The operator's image allowlist: which image IDs this provider runs. A JSON file in the data dir,
 * written atomically; an unreadable file is an error, never an empty (or open) list.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { ClawnodeError } from '../protocol/index.ts'
import { writeFileAtomic } from './atomic-file.ts'
import { InvalidJobSpecError } from './errors.ts'

export interface AllowedImage {
  id: string
  addedAt: string
  /** Free text, e.g. the tag the image was imported under. */
  note: string
}

export class AllowlistCorruptError extends ClawnodeError {
  static override name = 'AllowlistCorruptError'
  constructor (path: string, cause: unknown) {
    super(`The image allowlist ${path} cannot be read`, { cause, hint: `Fix or delete ${path}, then allow your images again with \`clawnode images allow <image-id>\`.` })
  }
}

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/

export function allowlistPath (dataDir: string): string {
  return join(dataDir, 'images', 'allowlist.json')
}

export async function readAllowlist (dataDir: string): Promise<AllowedImage[]> {
  const path = allowlistPath(dataDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw new AllowlistCorruptError(path, err)
  }
  try {
    const data = JSON.parse(text) as { version?: number, images?: AllowedImage[] }
    if (data.version !== 1 || !Array.isArray(data.images)) throw new Error('not a version 1 allowlist')
    for (const image of data.images) if (!IMAGE_ID.test(image.id)) throw new Error(`bad image id ${String(image.id)}`)
    return data.images
  } catch (err) {
    throw new AllowlistCorruptError(path, err)
  }
}

async function write (dataDir: string, images: AllowedImage[]): Promise<void> {
  const path = allowlistPath(dataDir)
  await mkdir(dirname(path), { recursive: true, mode: 0o700 })
  await writeFileAtomic(path, JSON.stringify({ version: 1, images }, null, 2) + '\n')
}

export function normaliseImageId (id: string): string {
  const full = id.startsWith('sha256:') ? id : `sha256:${id}`
  if (!IMAGE_ID.test(full)) throw new InvalidJobSpecError('image', 'must be a full image ID (sha256: and 64 hex digits), as `docker images --no-trunc` or `clawnode images list` shows')
  return full
}

export async function allowImage (dataDir: string, id: string, note = ''): Promise<AllowedImage[]> {
  const image = normaliseImageId(id)
  const images = await readAllowlist(dataDir)
  if (!images.some(i => i.id === image)) images.push({ id: image, addedAt: new Date().toISOString(), note })
  await write(dataDir, images)
  return images
}

export async function denyImage (dataDir: string, id: string): Promise<AllowedImage[]> {
  const image = normaliseImageId(id)
  const images = (await readAllowlist(dataDir)).filter(i => i.id !== image)
  await write(dataDir, images)
  return images
}

export async function isImageAllowed (dataDir: string, id: string): Promise<boolean> {
  return (await readAllowlist(dataDir)).some(i => i.id === id)
}
