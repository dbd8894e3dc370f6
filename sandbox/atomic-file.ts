/**
 * Crash-safe file writes: write a temp file, fsync it, rename it over the target, fsync the directory.
 * After a `kill -9` the target holds either the old or the new content, never a torn one.
 */
import { open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

export async function writeFileAtomic (path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`
  const fh = await open(tmp, 'w', mode)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } catch (err) {
    await fh.close()
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fh.close()
  await rename(tmp, path)
  const dir = await open(dirname(path), 'r')
  try { await dir.sync() } finally { await dir.close() }
}
