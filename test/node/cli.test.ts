import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bounded, cli, ROOT, tempDir, testImage } from '../helpers.ts'

test('--help lists the commands, --version prints the version', bounded(20_000, async () => {
  const help = await cli(['--help'])
  assert.is(help.code, 0)
  for (const cmd of ['run', 'images', 'doctor']) assert.match(help.stdout, new RegExp(`^  ${cmd} `, 'm'))
  const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  const version = await cli(['--version'])
  assert.is(version.stdout, `clawnode ${pkg.version}\n`)
  const json = await cli(['--version', '--json'])
  assert.equal(JSON.parse(json.stdout), { version: pkg.version })
}))

test('an unknown command is a usage error (exit 2) that says what to do', bounded(20_000, async () => {
  const r = await cli(['frobnicate'])
  assert.is(r.code, 2)
  assert.match(r.stderr, /Unknown command "frobnicate"/)
  assert.match(r.stderr, /clawnode --help/)
}))

test('images allow/list/deny and run the example job end to end', bounded(90_000, async () => {
  const data = await tempDir()
  const image = testImage()
  const denied = await cli(['run', 'examples/hello.json', '--image', image, '--data', data])
  assert.is(denied.code, 65, 'a job on an image that is not allowed is rejected')
  assert.match(denied.stderr, /ImageNotAllowedError/)

  assert.is((await cli(['images', 'allow', image, '--data', data])).code, 0)
  const list = JSON.parse((await cli(['images', 'list', '--json', '--data', data])).stdout) as { images: Array<{ id: string, allowed: boolean, present: boolean }> }
  assert.ok(list.images.some(i => i.id === image && i.allowed && i.present))

  const ok = await cli(['run', 'examples/hello.json', '--image', image, '--data', data])
  assert.is(ok.code, 0, ok.stderr)
  assert.match(ok.stdout, /hello from Linux 4\.4\.0 as nobody/)
  assert.match(ok.stdout, /this line came in on stdin/)
  assert.match(ok.stderr, /✓ job \S+ succeeded/)
  assert.match(ok.stderr, /artifact greeting\.upper\.txt/)

  const json = await cli(['run', 'examples/hello.json', '--image', image, '--data', data, '--json'])
  const result = JSON.parse(json.stdout) as { status: string, runDir: string, artifacts: Array<{ path: string }> }
  assert.is(result.status, 'succeeded')
  assert.is(await readFile(join(result.runDir, 'artifacts', 'greeting.upper.txt'), 'utf8'), 'HELLO, WORLD\n')

  assert.is((await cli(['images', 'deny', image, '--data', data])).code, 0)
  assert.is((await cli(['run', 'examples/hello.json', '--image', image, '--data', data])).code, 65)
}))

test('a timed-out job exits 124 and a failing one exits 1', bounded(60_000, async () => {
  const data = await tempDir()
  const image = testImage()
  await cli(['images', 'allow', image, '--data', data])
  const timeout = await cli(['run', 'examples/timeout.json', '--image', image, '--data', data])
  assert.is(timeout.code, 124)
  assert.match(timeout.stderr, /JobTimeoutError/)
}))

test('images import loads an archive and allows it', bounded(60_000, async () => {
  const data = await tempDir()
  const r = await cli(['images', 'import', join(ROOT, '.images', 'busybox.tar'), '--allow', '--json', '--data', data])
  assert.is(r.code, 0, r.stderr)
  assert.equal(JSON.parse(r.stdout), { imported: [testImage()], allowed: true })
  const bad = await cli(['images', 'import', join(ROOT, 'package.json'), '--data', data])
  assert.is(bad.code, 1)
  assert.match(bad.stderr, /ImageImportError|could not load/i)
}))

test('a malformed job spec file is rejected with the field named', bounded(20_000, async () => {
  const data = await tempDir()
  const r = await cli(['run', 'package.json', '--data', data])
  assert.is(r.code, 65)
  assert.match(r.stderr, /InvalidJobSpecError: Invalid job spec: \S+ is not a JobSpec field/)
}))

test('a job spec that is not a regular file (a device, a FIFO) is refused before reading', bounded(20_000, async () => {
  const r = await cli(['run', '/dev/zero', '--data', await tempDir()])
  assert.is(r.code, 2)
  assert.match(r.stderr, /\/dev\/zero is not a regular file/)
}))

test('a bad config file is reported with the key and the fix', bounded(20_000, async () => {
  const data = await tempDir()
  const { writeFile } = await import('node:fs/promises')
  await writeFile(join(data, 'config.json'), JSON.stringify({ sandbox: { runtime: 'kata' } }))
  const r = await cli(['run', 'examples/hello.json', '--data', data])
  assert.is(r.code, 1)
  assert.match(r.stderr, /sandbox\.runtime must be "runsc" \(gVisor\) or "runc"/)
  assert.match(r.stderr, /→ Fix sandbox\.runtime/)
}))

test.run()
