/**
 * The published package: `npm pack` produces compiled JavaScript that installs in an empty project and
 * whose bin runs on Node 24, and stops with a clear message on an older Node.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bounded, cli, ROOT, tempDir } from '../helpers.ts'

const run = promisify(execFile)
let installed = ''

async function oldNode (): Promise<string | undefined> {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    if (!existsSync(candidate)) continue
    const { stdout } = await run(candidate, ['--version'])
    if (Number(stdout.trim().slice(1).split('.')[0]) < 24) return candidate
  }
  return undefined
}

test('npm pack makes a tarball of compiled JavaScript that installs in a temp dir', bounded(240_000, async () => {
  const dir = await tempDir('clawnode-pack-')
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 })
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{ filename: string, files: Array<{ path: string }> }>
  assert.ok(info !== undefined)
  const files = info.files.map(f => f.path)
  assert.ok(files.includes('dist/node/cli/main.js'))
  assert.ok(files.includes('dist/sandbox/runner.js'))
  assert.ok(files.includes('dist/protocol/gen/caps.js'), 'the generated protobuf codecs are packed')
  assert.ok(files.includes('node/cli/bin.js'))
  assert.not.ok(files.some(f => f.endsWith('.ts')), 'no TypeScript sources in the package')
  const project = await tempDir('clawnode-install-')
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true }))
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, info.filename)], { cwd: project, maxBuffer: 16 * 1024 * 1024 })
  installed = join(project, 'node_modules', 'clawnode', 'node', 'cli', 'bin.js')
  assert.ok(existsSync(installed))
  assert.not.ok(existsSync(join(project, 'node_modules', 'typescript')), 'devDependencies are not installed')
}))

test('the installed bin runs on Node 24', bounded(30_000, async () => {
  assert.ok(installed !== '', 'needs the install from the previous test')
  const help = await cli(['--help'], { bin: installed, cwd: '/' })
  assert.is(help.code, 0, help.stderr)
  assert.match(help.stdout, /Usage: clawnode <command>/)
  // Loads the protocol layer, generated codecs included, from the installed package.
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', "const p = await import('clawnode/dist/protocol/index.js'); console.log(typeof p.openCapabilityRecord)"], { cwd: join(installed, '..', '..', '..', '..') })
  assert.is(stdout.trim(), 'function')
  const doctor = await cli(['doctor', '--help'], { bin: installed, cwd: '/' })
  assert.is(doctor.code, 0, doctor.stderr)
  assert.match(doctor.stdout, /clawnode doctor/)
}))

test('on Node 20 the bin stops at once with a clear message', bounded(30_000, async () => {
  const node = await oldNode()
  assert.ok(node !== undefined, 'no Node older than 24 found at /usr/bin/node or /usr/local/bin/node (the CI machine has Node 20 there)')
  const r = await cli(['--help'], { bin: installed, node, cwd: '/' })
  assert.is(r.code, 1)
  assert.match(r.stderr, /clawnode needs Node\.js 24 or newer, but this is Node\.js v?20\./)
  assert.match(r.stderr, /nvm install 24|npx -p node@24/)
  assert.is(r.stdout, '')
}))

test.run()
