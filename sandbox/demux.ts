/**
 * Splits Docker's multiplexed attach/exec stream into stdout and stderr. Each frame is an 8-byte
 * header (stream type, 3 zero bytes, big-endian payload length) then the payload
 * (https://docs.docker.com/engine/api/v1.41/#operation/ContainerAttach). Payload bytes are passed on
 * as they arrive, so a huge frame never sits in memory whole.
 */

export type OutputStream = 'stdout' | 'stderr'

export class DemuxError extends Error {
  static override name = 'DemuxError'
  constructor (message: string) {
    super(message)
    this.name = 'DemuxError'
  }
}

export interface Demuxer {
  push: (chunk: Uint8Array) => void
  /** Throws if the stream ended in the middle of a frame. */
  end: () => void
}

export function createDemuxer (onData: (stream: OutputStream, data: Uint8Array) => void): Demuxer {
  const header = new Uint8Array(8)
  let headerFill = 0
  let remaining = 0
  let current: OutputStream = 'stdout'

  return {
    push (chunk) {
      let offset = 0
      while (offset < chunk.byteLength) {
        if (remaining === 0) {
          const take = Math.min(8 - headerFill, chunk.byteLength - offset)
          header.set(chunk.subarray(offset, offset + take), headerFill)
          headerFill += take
          offset += take
          if (headerFill < 8) return
          headerFill = 0
          const type = header[0]
          // 0 is stdin echoed back (only with a tty), 1 stdout, 2 stderr; anything else is not this format.
          if (type !== 1 && type !== 2 && type !== 0) throw new DemuxError(`unknown stream type ${type}`)
          current = type === 2 ? 'stderr' : 'stdout'
          remaining = new DataView(header.buffer).getUint32(4)
          continue
        }
        const take = Math.min(remaining, chunk.byteLength - offset)
        onData(current, chunk.subarray(offset, offset + take))
        remaining -= take
        offset += take
      }
    },
    end () {
      if (headerFill !== 0 || remaining !== 0) throw new DemuxError('stream ended inside a frame')
    }
  }
}
