/**
 * The committed contract artifacts are what a fresh, pinned solc build of ledger/contracts gives
 * (scripts/build-contracts.ts --check), so the bytecode deployed is the bytecode of the sources.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { INPUT_SHA256, SOLC_VERSION, usageAnchorBytecode, usageEscrowAbi } from '../../../ledger/chain/index.ts'
import { bounded, ROOT } from '../../helpers.ts'

test('ledger/contracts/artifacts.ts matches a fresh build of the sources', bounded(60_000, async () => {
  const result = await new Promise<{ code: number | null, out: string }>((resolve) => {
    execFile(process.execPath, [join(ROOT, 'scripts', 'build-contracts.ts'), '--check'], { cwd: ROOT, timeout: 55_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : (err as { code?: number }).code ?? 1, out: stdout + stderr })
    })
  })
  assert.is(result.code, 0, result.out)
  assert.match(result.out, INPUT_SHA256)
  assert.match(SOLC_VERSION, /^0\.8\.37\+/)
  assert.match(usageAnchorBytecode, /^0x[0-9a-f]+$/)
  assert.ok(usageEscrowAbi.some(e => e.type === 'error' && e.name === 'InvalidConsumerSignature'))
}))

test.run()
