/**
 * `npm test`: builds the offline test images (when Docker is reachable), runs every uvu test under
 * test/ in a child process with an overall time bound, and ends with one line `N passed, N failed`.
 * With CLAWNODE_REQUIRE_ALL=1 (as in CI) a missing part or a skipped test fails the run.
 *
 * Usage: node scripts/test.ts [pattern]   e.g. node scripts/test.ts containment
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildImages } from './build-images.ts'
import { createDocker, pingDocker } from '../sandbox/index.ts'

const root = join(import.meta.dirname, '..')
const requireAll = process.env.CLAWNODE_REQUIRE_ALL === '1'
const TOTAL_TIMEOUT_MS = 40 * 60 * 1000
const pattern = process.argv[2]

let setupFailures = 0
try {
  const docker = await createDocker()
  await pingDocker(docker)
  await buildImages()
} catch (err) {
  process.stderr.write(`✗ could not build the test images: ${(err as Error).message}\n  → tests that need Docker and gVisor will fail; run \`clawnode doctor\`.\n`)
  if (requireAll) setupFailures++
}

// The nodes the tests start share one local chain of the run's own (never the user's ~/.clawnode/chain);
// whatever anvil is left in it at the end is stopped.
const chainDir = await mkdtemp(join(tmpdir(), 'clawnode-test-chain-'))
const uvu = join(root, 'node_modules', 'uvu', 'bin.js')
const args = ['--import', join(root, 'test', 'linger-report.ts'), uvu, 'test', pattern === undefined ? '\\.test\\.ts$' : `(${pattern}).*\\.test\\.ts$`]
const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, FORCE_COLOR: '0', CLAWNODE_CHAIN_DIR: chainDir }, stdio: ['ignore', 'pipe', 'inherit'] })
let output = ''
let lingered = false
let exitTimer: NodeJS.Timeout | undefined
child.stdout.on('data', (c: Buffer) => {
  process.stdout.write(c)
  output += c.toString('utf8')
  if (output.length > 4_000_000) output = output.slice(-1_000_000)
  // uvu has printed its totals: a process that does not exit now still holds something open. Ask it
  // what (test/linger-report.ts), then end it.
  if (exitTimer === undefined && /Duration:/.test(output)) {
    exitTimer = setTimeout(() => {
      lingered = true
      child.kill('SIGUSR2')
      setTimeout(() => { child.kill('SIGKILL') }, 2_000).unref()
    }, 15_000)
  }
})
const timer = setTimeout(() => {
  process.stderr.write(`\n✗ the test run passed its ${TOTAL_TIMEOUT_MS / 60000} minute bound; killing it\n`)
  child.kill('SIGKILL')
}, TOTAL_TIMEOUT_MS)
const code = await new Promise<number | null>((resolve) => { child.on('close', resolve) })
clearTimeout(timer)
clearTimeout(exitTimer)
try {
  const pid = Number((await readFile(join(chainDir, 'anvil.pid'), 'utf8')).trim())
  if (Number.isSafeInteger(pid) && pid > 0) process.kill(pid, 'SIGKILL')
} catch {}

const read = (label: string): number => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? NaN)
const total = read('Total')
const passed = read('Passed')
const skipped = read('Skipped')
let failed = Number.isNaN(total) || Number.isNaN(passed) ? 1 : total - passed - (Number.isNaN(skipped) ? 0 : skipped)
if (code !== 0 && failed === 0 && !lingered) failed = 1
if (requireAll && skipped > 0) {
  process.stderr.write(`✗ ${skipped} test(s) skipped, but CLAWNODE_REQUIRE_ALL=1 allows no skips\n`)
  failed += skipped
}
if (lingered) {
  // Seen about once in eight full runs: node-datachannel's native threads (WebRTC) sometimes outlive
  // every peer connection. The tests themselves passed; this is reported, not counted.
  process.stderr.write('⚠ the test process did not exit by itself after its tests ended (see "still open" above); it was ended\n')
}
failed += setupFailures
const passedCount = Number.isNaN(passed) ? 0 : passed
process.stdout.write(`\n${passedCount} passed, ${failed} failed${Number.isNaN(skipped) || skipped === 0 ? '' : `, ${skipped} skipped`}\n`)
process.exitCode = failed === 0 ? 0 : 1
