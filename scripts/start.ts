/**
 * `npm start`: the main job on an embedded default, with no config. For now: build the example image
 * offline, allow it in the data dir, and run examples/hello.json in the gVisor sandbox. (Later issues
 * turn this into a local network with a chain and a dashboard.)
 *
 * Usage: npm start [-- --data <dir>]
 */
import { join } from 'node:path'
import { buildImages } from './build-images.ts'
import { main } from '../node/cli/main.ts'

const root = join(import.meta.dirname, '..')
const extra = process.argv.slice(2)
process.stderr.write('▸ building the example image (offline, from the host\'s static busybox)\n')
let id: string
try {
  id = (await buildImages()).busybox.id
} catch (err) {
  process.stderr.write(`✗ ${(err as Error).message}\n  → run \`npx clawnode doctor\`; if Docker or gVisor is missing: sudo scripts/setup-host.sh\n`)
  process.exit(1)
}
const allowed = await main(['images', 'allow', id, ...extra])
if (allowed !== 0) process.exit(allowed)
process.exitCode = await main(['run', join(root, 'examples', 'hello.json'), '--image', id, ...extra])
