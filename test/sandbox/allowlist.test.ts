import { writeFile, mkdir, stat } from 'node:fs/promises'
import { dirname } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { allowImage, allowlistPath, denyImage, isImageAllowed, readAllowlist } from '../../sandbox/index.ts'
import { bounded, tempDir } from '../helpers.ts'

const A = 'sha256:' + '1'.repeat(64)
const B = '2'.repeat(64)

test('allow, list and deny by image ID (with or without the sha256: prefix)', bounded(10_000, async () => {
  const dir = await tempDir()
  assert.equal(await readAllowlist(dir), [])
  await allowImage(dir, A, 'first')
  await allowImage(dir, B)
  await allowImage(dir, A)
  assert.equal((await readAllowlist(dir)).map(i => i.id), [A, `sha256:${B}`])
  assert.ok(await isImageAllowed(dir, `sha256:${B}`))
  await denyImage(dir, B)
  assert.not.ok(await isImageAllowed(dir, `sha256:${B}`))
  assert.ok(await isImageAllowed(dir, A))
  assert.is((await stat(dirname(allowlistPath(dir)))).mode & 0o777, 0o700)
}))

test('a malformed image ID is refused', bounded(10_000, async () => {
  const dir = await tempDir()
  try {
    await allowImage(dir, 'busybox:latest')
    assert.unreachable('accepted a tag')
  } catch (err) {
    assert.is((err as Error).name, 'InvalidJobSpecError')
  }
}))

test('a corrupt allowlist is an error, never an open door', bounded(10_000, async () => {
  const dir = await tempDir()
  await mkdir(dirname(allowlistPath(dir)), { recursive: true })
  await writeFile(allowlistPath(dir), '{"version":1,"images":[{"id":"sha256:zz')
  try {
    await isImageAllowed(dir, A)
    assert.unreachable('read a corrupt file')
  } catch (err) {
    assert.is((err as Error).name, 'AllowlistCorruptError')
    assert.match((err as { hint: string }).hint, /clawnode images allow/)
  }
}))

test.run()
