/**
 * Spots the end of a tar archive as it streams by: the first all-zero 512-byte block where a header
 * is due. The collector's tar does not close its stream by itself (the stream ends only when the
 * whole gVisor sandbox has shut down, tens of milliseconds later), so the runner stops reading here.
 * Pure: it only follows header sizes (octal, or base-256 for large files) to know where headers are.
 */

const BLOCK = 512

export interface TarEndDetector {
  /**
   * Feeds bytes. Returns -1 while the archive goes on; once the end-of-archive block is complete,
   * the number of bytes of this chunk that belong to the archive (the rest is not tar).
   */
  push: (chunk: Uint8Array) => number
  readonly ended: boolean
}

function entrySize (header: Uint8Array): number {
  const field = header.subarray(124, 136)
  if (((field[0] ?? 0) & 0x80) !== 0) {
    // Base-256 (GNU) for sizes over 8 GiB: big-endian after the marker bit.
    let n = (field[0] ?? 0) & 0x7f
    for (let i = 1; i < field.length; i++) n = n * 256 + (field[i] ?? 0)
    return n
  }
  let text = ''
  for (const byte of field) {
    if (byte === 0 || byte === 0x20) { if (text !== '') break; else continue }
    text += String.fromCharCode(byte)
  }
  const n = text === '' ? 0 : parseInt(text, 8)
  if (!Number.isFinite(n)) throw new Error('malformed tar header size')
  return n
}

export function createTarEndDetector (): TarEndDetector {
  const header = new Uint8Array(BLOCK)
  let fill = 0
  let skip = 0
  let ended = false
  return {
    get ended () { return ended },
    push (chunk) {
      if (ended) return 0
      let offset = 0
      while (offset < chunk.byteLength) {
        if (skip > 0) {
          const take = Math.min(skip, chunk.byteLength - offset)
          skip -= take
          offset += take
          continue
        }
        const take = Math.min(BLOCK - fill, chunk.byteLength - offset)
        header.set(chunk.subarray(offset, offset + take), fill)
        fill += take
        offset += take
        if (fill < BLOCK) break
        fill = 0
        if (header.every(b => b === 0)) { ended = true; return offset }
        skip = Math.ceil(entrySize(header) / BLOCK) * BLOCK
      }
      return -1
    }
  }
}
