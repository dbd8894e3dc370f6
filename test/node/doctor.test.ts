import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bounded, cli, tempDir } from '../helpers.ts'

interface Report { ok: boolean, checks: Array<{ name: string, ok: boolean, detail: string, fix?: string }> }

test('doctor passes every check on a host set up for providers', bounded(60_000, async () => {
  const data = await tempDir()
  const r = await cli(['doctor', '--json', '--data', data])
  const report = JSON.parse(r.stdout) as Report
  assert.equal(report.checks.filter(c => !c.ok), [])
  assert.is(r.code, 0)
  const sandbox = report.checks.find(c => c.name === 'runsc sandbox starts')
  assert.match(sandbox?.detail ?? '', /\(gVisor\)/)
  assert.match(report.checks.find(c => c.name === 'usage metering (cgroup)')?.detail ?? '', /^\/sys\/fs\/cgroup\//)
  assert.match(report.checks.find(c => c.name === 'chain (settlement and anchoring)')?.detail ?? '', /^local: anvil \S+anvil; shared chain folder /)
}))

test('doctor says when a configured chain does not answer, and what to do', bounded(30_000, async () => {
  const data = await tempDir()
  const contracts = { creditToken: `0x${'1'.repeat(40)}`, usageAnchor: `0x${'2'.repeat(40)}`, usageEscrow: `0x${'3'.repeat(40)}` }
  await writeFile(join(data, 'config.json'), JSON.stringify({ chain: { mode: 'rpc', rpcUrl: 'http://127.0.0.1:1', chainId: 31337, contracts } }))
  const r = await cli(['doctor', '--json', '--docker-socket', join(data, 'none.sock'), '--data', data])
  const check = (JSON.parse(r.stdout) as Report).checks.find(c => c.name === 'chain (settlement and anchoring)')
  assert.is(check?.ok, false)
  assert.is(check?.detail, 'http://127.0.0.1:1 does not answer')
  assert.match(check?.fix ?? '', /chain\.rpcUrl/)
}))

test('doctor against a dead Docker socket reports ✗ with the fix and exits non-zero', bounded(30_000, async () => {
  const data = await tempDir()
  const socket = join(data, 'dead.sock')
  const human = await cli(['doctor', '--docker-socket', socket, '--data', data])
  assert.is(human.code, 1)
  assert.match(human.stdout, new RegExp(`✗ Docker daemon: cannot reach ${socket}`))
  assert.match(human.stdout, /fix: Start Docker .*setup-host\.sh/)
  const json = await cli(['doctor', '--json', '--docker-socket', socket, '--data', data])
  const report = JSON.parse(json.stdout) as Report
  assert.is(report.ok, false)
  assert.is(report.checks.find(c => c.name === 'Docker daemon')?.ok, false)
  assert.is(json.code, 1)
}))

test('doctor flags a data dir others can read', bounded(30_000, async () => {
  const data = await tempDir()
  const { chmod } = await import('node:fs/promises')
  await chmod(data, 0o755)
  const r = await cli(['doctor', '--json', '--docker-socket', join(data, 'none.sock'), '--data', data])
  const check = (JSON.parse(r.stdout) as Report).checks.find(c => c.name === 'data dir')
  assert.is(check?.ok, false)
  assert.match(check?.fix ?? '', /chmod 700/)
}))

test('doctor lists each model: good ones with what they are, broken ones with the reason and the fix', bounded(30_000, async () => {
  const data = await tempDir()
  const { mkdir, writeFile } = await import('node:fs/promises')
  const { generateModel, PRESETS } = await import('../../scripts/gen-gguf.ts')
  await mkdir(join(data, 'models'))
  generateModel({ ...PRESETS.tiny!, name: 'tiny', seed: 1, eos: 'never' }, join(data, 'models', 'tiny.gguf'))
  await writeFile(join(data, 'models', 'junk.gguf'), 'not a model at all')
  const r = await cli(['doctor', '--json', '--docker-socket', join(data, 'none.sock'), '--data', data])
  const checks = (JSON.parse(r.stdout) as Report).checks
  const good = checks.find(c => c.name === 'model tiny')
  assert.is(good?.ok, true)
  assert.match(good?.detail ?? '', /^llama F32, 0\.9M parameters, context 2048, sha256 [0-9a-f]{12}…; not probed yet/)
  const bad = checks.find(c => c.name === 'model junk')
  assert.is(bad?.ok, false)
  assert.match(bad?.detail ?? '', /not a readable GGUF file/)
  assert.match(bad?.fix ?? '', /Replace the file/)
  assert.is(checks.find(c => c.name === 'model probe results'), undefined, 'no probe results yet is not a fault')

  // A probe-results file that is not what the node writes: named, and every model will be probed again.
  await writeFile(join(data, 'model-probes.json'), '{ not json')
  const again = (JSON.parse((await cli(['doctor', '--json', '--docker-socket', join(data, 'none.sock'), '--data', data])).stdout) as Report).checks
  const results = again.find(c => c.name === 'model probe results')
  assert.is(results?.ok, false)
  assert.match(results?.detail ?? '', /every model is probed again/)
}))

test.run()
