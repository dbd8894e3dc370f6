import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as tar from 'tar-stream'
import { createTarEndDetector } from '../../sandbox/index.ts'

async function archive (sizes: number[]): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c) => { chunks.push(c as Buffer) })
  const done = new Promise<void>((resolve) => { pack.on('end', () => { resolve() }) })
  sizes.forEach((size, i) => {
    // Zero-filled contents: a naive "zero block" check inside file data would end too early.
    pack.entry({ name: `${'d/'.repeat(i % 3)}f${i}${'x'.repeat(i === 1 ? 150 : 0)}`, size }, Buffer.alloc(size))
  })
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

test('ends exactly at the end-of-archive block, not inside zero-filled file data', async () => {
  const data = await archive([0, 1, 511, 512, 513, 4096])
  const endAt = data.length - 1024 // tar-stream pads with two zero blocks
  const d = createTarEndDetector()
  assert.is(d.push(data.subarray(0, endAt)), -1)
  assert.is(d.push(data.subarray(endAt, endAt + 511)), -1)
  assert.is(d.push(data.subarray(endAt + 511, endAt + 512)), 1)
  assert.ok(d.ended)
})

test('works when fed one byte at a time', async () => {
  const data = await archive([700, 0, 1025])
  const d = createTarEndDetector()
  let endedAt = -1
  for (let i = 0; i < data.length; i++) {
    if (d.push(data.subarray(i, i + 1)) === 1 && endedAt < 0) endedAt = i
  }
  assert.is(endedAt, data.length - 1024 + 511)
})

test('an empty archive ends at once; bytes after the end are not counted as archive', async () => {
  const d = createTarEndDetector()
  const data = await archive([])
  assert.is(d.push(Buffer.concat([data.subarray(0, 512), Buffer.from('trailing garbage')])), 512)
})

test('a chunk ending inside the second zero block reports where the archive ends', async () => {
  const data = await archive([10])
  const d = createTarEndDetector()
  // header + 1 data block + first zero block + half of the second
  assert.is(d.push(data.subarray(0, 512 * 3 + 200)), 512 * 3)
})

test('a malformed size field is an error, not a hang', () => {
  const header = Buffer.alloc(512, 0)
  header.write('name', 0)
  header.write('zzzzzzzzzzz\0', 124)
  const d = createTarEndDetector()
  assert.throws(() => d.push(header), /malformed tar header size/)
})

test.run()
