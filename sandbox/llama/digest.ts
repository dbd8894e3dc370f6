/**
 * A model file's identity: its sha256 and size, read in 1 MiB chunks (never the whole file at once).
 * Apart from model-file.ts so that code which only needs the digest never loads node-llama-cpp.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'

/** Hex sha256 of the whole file. */
export async function sha256File (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/** The file's sha256 and size as it is now. */
export async function fileDigest (path: string): Promise<{ sha256: string, sizeBytes: number }> {
  const { size } = await stat(path)
  return { sha256: await sha256File(path), sizeBytes: size }
}
