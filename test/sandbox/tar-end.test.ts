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
  assert.is(d.push(data.subarray(0, endAt)), false)
  assert.is(d.push(data.subarray(endAt, endAt + 511)), false)
  assert.is(d.push(data.subarray(endAt + 511, endAt + 512)), true)
})

test('works when fed one byte at a time', async () => {
  const data = await archive([700, 0, 1025])
  const d = createTarEndDetector()
  let endedAt = -1
  for (let i = 0; i < data.length; i++) {
    if (d.push(data.subarray(i, i + 1)) && endedAt < 0) endedAt = i
  }
  assert.is(endedAt, data.length - 1024 + 511)
})

test('an empty archive ends at once', async () => {
  const d = createTarEndDetector()
  assert.is(d.push(await archive([])), true)
})

test.run()
