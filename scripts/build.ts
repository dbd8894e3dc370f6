/**
 * Compiles the TypeScript sources to dist/ for the published package (development and tests run the
 * sources directly on Node 24's type stripping). Usage: node scripts/build.ts
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const root = join(import.meta.dirname, '..')
rmSync(join(root, 'dist'), { recursive: true, force: true })
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
// The generated protobuf codecs are already JavaScript (scripts/gen-proto.ts); tsc does not copy them.
const gen = join(root, 'protocol', 'gen')
mkdirSync(join(root, 'dist', 'protocol', 'gen'), { recursive: true })
for (const f of readdirSync(gen).filter(f => f.endsWith('.js'))) copyFileSync(join(gen, f), join(root, 'dist', 'protocol', 'gen', f))
process.stdout.write('built dist/\n')
