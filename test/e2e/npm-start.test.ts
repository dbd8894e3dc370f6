/**
 * `npm start` (scripts/start.ts), the README's main job: a local network of real processes (a
 * bootstrap node, two providers) on a fresh data dir, and a lease of examples/hello.json over it; the
 * cheaper provider wins, the job's output and artifact come back, and the network stops.
 */
import { execFile } from 'node:child_process'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { bounded, ROOT, tempDir } from '../helpers.ts'

test('npm start runs a local network and leases the example job over it', bounded(120_000, async () => {
  const data = await tempDir()
  const { code, stdout, stderr } = await new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve) => {
    execFile(process.execPath, [join(ROOT, 'scripts', 'start.ts'), '--data', data], { timeout: 110_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? null, stdout, stderr })
    })
  })
  assert.is(code, 0, stderr)
  assert.match(stdout, /\nhello from Linux \S+ as nobody\n13\nthis line came in on stdin\nprovider ledger/)
  const provider1 = (/provider-1 (\S+)/.exec(stderr) ?? [])[1] ?? 'missing'
  assert.match(stderr, new RegExp(`chosen\\s+${provider1}`))
  assert.match(stderr, /outbid/)
  assert.match(stderr, /✓ succeeded on .*receipt verified and countersigned/)
  assert.match(stderr, /paid from escrow deposit #\d+: \d+ millicredits drawn/)
  assert.match(stderr, /stopping the local network/)
  // After the network stopped: the serving provider's ledger holds the lease, its batch anchored on the local chain.
  assert.match(stdout, /provider ledger \(.*provider-1.*\): 1 entries/)
  assert.match(stdout, /#1 {2}seq 1\.\.1 {2}root 0x[0-9a-f]{8}…[0-9a-f]{4} {2}anchored in block \d+, tx 0x[0-9a-f]{64}/)
  const [lease = ''] = await readdir(join(data, 'leases'))
  assert.is(await readFile(join(data, 'leases', lease, 'greeting.upper.txt'), 'utf8'), 'HELLO, WORLD\n')
}))

test.run()
