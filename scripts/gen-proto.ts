/**
 * Generates the protobuf codecs: protocol/proto/*.proto → protons → protocol/gen/*.js + *.d.ts.
 * protons emits TypeScript enums and namespaces, which Node's type stripping refuses, so its output is
 * compiled here and the compiled JavaScript (with declarations) is what the sources import and what is
 * committed. A test checks that the committed files match a fresh generation.
 *
 * Usage: node scripts/gen-proto.ts [--out <dir>]   (default protocol/gen)
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = join(import.meta.dirname, '..')
const outFlag = process.argv.indexOf('--out')
const out = outFlag > 0 ? resolve(process.argv[outFlag + 1] ?? '') : join(root, 'protocol', 'gen')
const protoDir = join(root, 'protocol', 'proto')
// The TypeScript goes next to the output (inside the repo, so its imports resolve from node_modules).
const work = join(root, 'protocol', 'gen', '.work')

rmSync(work, { recursive: true, force: true })
mkdirSync(work, { recursive: true })
mkdirSync(out, { recursive: true })
try {
  const protos = readdirSync(protoDir).filter(f => f.endsWith('.proto')).sort()
  for (const proto of protos) copyFileSync(join(protoDir, proto), join(work, proto))
  execFileSync(process.execPath, [join(root, 'node_modules', 'protons', 'dist', 'bin', 'protons.js'), ...protos.map(p => join(work, p))], { stdio: 'inherit' })
  const sources = protos.map(p => join(work, p.replace(/\.proto$/, '.ts')))
  execFileSync(process.execPath, [
    join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
    '--target', 'es2024', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--declaration',
    '--skipLibCheck', '--strict', '--removeComments', 'false', '--newLine', 'lf', '--outDir', out, ...sources
  ], { stdio: 'inherit', cwd: root })
  process.stdout.write(`generated ${protos.map(p => p.replace(/\.proto$/, '.js')).join(', ')} in ${out}\n`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
