/**
 * Artifact collection against hostile tar streams. The sandbox here is a stand-in whose attach stream
 * answers the collector's newline with the given bytes (a unit test of files.ts alone; the real
 * collector is exercised by the runner and containment tests).
 */
import { existsSync, readdirSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Duplex } from 'node:stream'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import * as tar from 'tar-stream'
import { collectArtifacts } from '../../sandbox/index.ts'
import type { Sandbox } from '../../sandbox/index.ts'
import { bounded, tempDir } from '../helpers.ts'

function frame (type: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(8)
  header[0] = type
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

/** A sandbox whose collector answers with `reply` (already framed), in chunks of `chunk` bytes. */
function fakeSandbox (reply: Buffer, chunk = 1000, end = false): Sandbox {
  const attached = new Duplex({
    read () {},
    write (_data, _enc, cb) {
      for (let i = 0; i < reply.length; i += chunk) this.push(reply.subarray(i, i + chunk))
      if (end) this.push(null)
      cb()
    }
  })
  return { attached } as unknown as Sandbox
}

async function archive (entries: Array<{ name: string, data?: string, type?: 'file' | 'symlink' | 'directory', linkname?: string }>): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c) => { chunks.push(c as Buffer) })
  const done = new Promise<void>((resolve) => { pack.on('end', () => { resolve() }) })
  for (const e of entries) {
    if (e.type === 'symlink' || e.type === 'directory') pack.entry({ name: e.name, type: e.type, ...(e.linkname === undefined ? {} : { linkname: e.linkname }) })
    else pack.entry({ name: e.name }, e.data ?? '')
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

async function rejectsWith (p: Promise<unknown>, name: string, message?: RegExp): Promise<void> {
  try {
    await p
    assert.unreachable('resolved')
  } catch (err) {
    assert.is((err as Error).name, name, (err as Error).message)
    if (message !== undefined) assert.match((err as Error).message, message)
  }
}

test('collects files with digests, stops at the end block and ignores what follows', bounded(10_000, async () => {
  const dir = await tempDir()
  const tarBytes = await archive([{ name: './', type: 'directory' }, { name: './a.txt', data: 'alpha' }, { name: './sub/b.txt', data: 'beta' }])
  const reply = Buffer.concat([frame(1, tarBytes), frame(1, Buffer.from('not tar at all'))])
  const artifacts = await collectArtifacts(fakeSandbox(reply, 7), dir, { maxBytes: 1024 })
  assert.equal(artifacts.map(a => [a.path, a.size]), [['a.txt', 5], ['sub/b.txt', 4]])
  assert.is(await readFile(join(dir, 'sub', 'b.txt'), 'utf8'), 'beta')
}))

test('a corrupt header is a typed error, not a crash', bounded(10_000, async () => {
  const bad = Buffer.alloc(1024, 0x41)
  await rejectsWith(collectArtifacts(fakeSandbox(frame(1, bad)), await tempDir(), { maxBytes: 1024 }), 'ArtifactLimitError', /not a valid tar stream/)
}))

test('paths climbing out of the artifacts dir are refused; nothing is written outside', bounded(10_000, async () => {
  const parent = await tempDir()
  const dir = join(parent, 'artifacts')
  const tarBytes = await archive([{ name: '../../evil.txt', data: 'x' }])
  await rejectsWith(collectArtifacts(fakeSandbox(frame(1, tarBytes)), dir, { maxBytes: 1024 }), 'ArtifactLimitError', /unsafe path/)
  assert.equal(readdirSync(parent), [])
}))

test('symlinks are skipped, never followed or created', bounded(10_000, async () => {
  const dir = await tempDir()
  const tarBytes = await archive([{ name: 'link', type: 'symlink', linkname: '/etc/passwd' }, { name: 'real.txt', data: 'r' }])
  const artifacts = await collectArtifacts(fakeSandbox(frame(1, tarBytes)), dir, { maxBytes: 1024 })
  assert.equal(artifacts.map(a => a.path), ['real.txt'])
  assert.not.ok(existsSync(join(dir, 'link')))
}))

test('artifacts over the byte cap are refused', bounded(10_000, async () => {
  const tarBytes = await archive([{ name: 'big.bin', data: 'y'.repeat(5000) }])
  await rejectsWith(collectArtifacts(fakeSandbox(frame(1, tarBytes)), await tempDir(), { maxBytes: 4096 }), 'ArtifactLimitError', /limits\.artifactBytes/)
}))

test('a collector that dies mid-archive is an error naming what it said', bounded(10_000, async () => {
  const tarBytes = await archive([{ name: 'a.txt', data: 'a'.repeat(3000) }])
  const reply = Buffer.concat([frame(1, tarBytes.subarray(0, 1024)), frame(2, Buffer.from('tar: short read'))])
  await rejectsWith(collectArtifacts(fakeSandbox(reply, 1000, true), await tempDir(), { maxBytes: 1 << 20 }), 'SandboxError', /went away.*short read/)
}))

test.run()
