import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createDemuxer } from '../../sandbox/index.ts'

function frame (type: number, text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = type
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

function collect (): { out: string[], demux: ReturnType<typeof createDemuxer> } {
  const out: string[] = []
  const demux = createDemuxer((stream, data) => { out.push(`${stream}:${Buffer.from(data).toString()}`) })
  return { out, demux }
}

test('splits stdout and stderr frames', () => {
  const { out, demux } = collect()
  demux.push(Buffer.concat([frame(1, 'hello'), frame(2, 'oops'), frame(1, '!')]))
  demux.end()
  assert.equal(out, ['stdout:hello', 'stderr:oops', 'stdout:!'])
})

test('handles headers and payloads split across chunks, byte by byte', () => {
  const { out, demux } = collect()
  const all = Buffer.concat([frame(2, 'abc'), frame(1, 'defg')])
  for (const byte of all) demux.push(Uint8Array.of(byte))
  demux.end()
  assert.is(out.filter(s => s.startsWith('stderr')).map(s => s.slice(7)).join(''), 'abc')
  assert.is(out.filter(s => s.startsWith('stdout')).map(s => s.slice(7)).join(''), 'defg')
})

test('rejects an unknown stream type', () => {
  const { demux } = collect()
  assert.throws(() => { demux.push(frame(7, 'x')) }, (err: Error) => err.name === 'DemuxError')
})

test('end inside a frame is an error', () => {
  const { demux } = collect()
  demux.push(frame(1, 'hello').subarray(0, 10))
  assert.throws(() => { demux.end() }, (err: Error) => err.name === 'DemuxError')
})

test.run()
