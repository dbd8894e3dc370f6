import { test } from 'uvu'
import * as assert from 'uvu/assert'
import {
  validateJobSpec, MAX_ENV_BYTES, MAX_STDIN_BYTES, MAX_ARGV_ITEMS, MAX_INPUT_FILES, DEFAULT_LIMITS, DEFAULT_MAX_LIMITS
} from '../../sandbox/index.ts'

const IMAGE = 'sha256:' + 'a'.repeat(64)
const base = { version: 1, image: IMAGE, argv: ['true'] }

function rejects (spec: unknown, name: string, field: string | RegExp, policy = {}): void {
  try {
    validateJobSpec(spec, policy)
  } catch (err) {
    const e = err as Error & { field?: string }
    assert.is(e.name, name, `wrong error for ${JSON.stringify(spec).slice(0, 120)}: ${e.message}`)
    if (typeof field === 'string') assert.is(e.field, field)
    else assert.match(e.field ?? '', field)
    return
  }
  assert.unreachable(`accepted ${JSON.stringify(spec).slice(0, 120)}`)
}

test('a minimal spec gets the default limits', () => {
  const job = validateJobSpec(base)
  assert.equal(job.limits, { ...DEFAULT_LIMITS })
  assert.equal(job.argv, ['true'])
  assert.is(job.stdin, undefined)
})

test('stdin and files decode from text and base64', () => {
  const job = validateJobSpec({ ...base, stdin: { base64: Buffer.from('hi').toString('base64') }, files: [{ path: 'a/b.txt', content: { text: 'x' }, mode: 0o755 }] })
  assert.is(Buffer.from(job.stdin ?? []).toString(), 'hi')
  assert.equal(job.files.map(f => [f.path, Buffer.from(f.data).toString(), f.mode]), [['a/b.txt', 'x', 0o755]])
})

const hostile: Array<[string, unknown, string, string | RegExp]> = [
  ['not an object', 'rm -rf /', 'InvalidJobSpecError', 'spec'],
  ['wrong version', { ...base, version: 2 }, 'InvalidJobSpecError', 'version'],
  ['image by tag', { ...base, image: 'busybox:latest' }, 'InvalidJobSpecError', 'image'],
  ['short image id', { ...base, image: 'sha256:abc' }, 'InvalidJobSpecError', 'image'],
  ['unknown field', { ...base, privileged: true }, 'InvalidJobSpecError', 'privileged'],
  ['empty argv', { ...base, argv: [] }, 'InvalidJobSpecError', 'argv'],
  ['argv not strings', { ...base, argv: ['sh', 1] }, 'InvalidJobSpecError', 'argv[1]'],
  ['NUL in argv', { ...base, argv: ['a\u0000b'] }, 'InvalidJobSpecError', 'argv[0]'],
  ['too many argv items', { ...base, argv: Array(MAX_ARGV_ITEMS + 1).fill('x') }, 'SpecTooLargeError', 'argv'],
  ['oversized env', { ...base, env: { BIG: 'x'.repeat(MAX_ENV_BYTES) } }, 'SpecTooLargeError', 'env'],
  ['bad env name', { ...base, env: { 'A=B': 'x' } }, 'InvalidJobSpecError', /^env\./],
  ['env value not a string', { ...base, env: { A: 1 } }, 'InvalidJobSpecError', 'env.A'],
  ['oversized stdin text', { ...base, stdin: { text: 'x'.repeat(MAX_STDIN_BYTES + 1) } }, 'SpecTooLargeError', 'stdin'],
  ['oversized stdin base64', { ...base, stdin: { base64: 'A'.repeat(Math.ceil((MAX_STDIN_BYTES + 3) / 3) * 4) } }, 'SpecTooLargeError', 'stdin'],
  ['stdin not base64', { ...base, stdin: { base64: '!!!!' } }, 'InvalidJobSpecError', 'stdin'],
  ['stdin both forms', { ...base, stdin: { text: 'a', base64: 'YQ==' } }, 'InvalidJobSpecError', 'stdin'],
  ['path traversal with ..', { ...base, files: [{ path: '../etc/passwd', content: { text: 'x' } }] }, 'UnsafePathError', 'files[0].path'],
  ['path traversal inside', { ...base, files: [{ path: 'a/../../b', content: { text: 'x' } }] }, 'UnsafePathError', 'files[0].path'],
  ['absolute path', { ...base, files: [{ path: '/etc/shadow', content: { text: 'x' } }] }, 'UnsafePathError', 'files[0].path'],
  ['backslash path', { ...base, files: [{ path: '..\\x', content: { text: 'x' } }] }, 'UnsafePathError', 'files[0].path'],
  ['empty path part', { ...base, files: [{ path: 'a//b', content: { text: 'x' } }] }, 'UnsafePathError', 'files[0].path'],
  ['control character path', { ...base, files: [{ path: 'a\nb', content: { text: 'x' } }] }, 'UnsafePathError', 'files[0].path'],
  ['file over directory', { ...base, files: [{ path: 'a', content: { text: 'x' } }, { path: 'a/b', content: { text: 'y' } }] }, 'InvalidJobSpecError', 'files[1].path'],
  ['setuid mode', { ...base, files: [{ path: 'a', content: { text: 'x' }, mode: 0o4755 }] }, 'InvalidJobSpecError', 'files[0].mode'],
  ['too many files', { ...base, files: Array.from({ length: MAX_INPUT_FILES + 1 }, (_, i) => ({ path: `f${i}`, content: { text: '' } })) }, 'SpecTooLargeError', 'files'],
  ['negative memory', { ...base, limits: { memoryMb: -1 } }, 'LimitOutOfRangeError', 'limits.memoryMb'],
  ['memory over max', { ...base, limits: { memoryMb: DEFAULT_MAX_LIMITS.memoryMb + 1 } }, 'LimitOutOfRangeError', 'limits.memoryMb'],
  ['zero pids', { ...base, limits: { pids: 0 } }, 'LimitOutOfRangeError', 'limits.pids'],
  ['fractional wall time', { ...base, limits: { wallMs: 1.5 } }, 'InvalidJobSpecError', 'limits.wallMs'],
  ['infinite cpus', { ...base, limits: { cpus: Infinity } }, 'InvalidJobSpecError', 'limits.cpus'],
  ['unknown limit', { ...base, limits: { gpus: 8 } }, 'InvalidJobSpecError', 'limits.gpus']
]

for (const [name, spec, error, field] of hostile) {
  test(`rejects ${name} with ${error}`, () => { rejects(spec, error, field) })
}

test('the provider policy lowers the allowed maximum and the error names it', () => {
  try {
    validateJobSpec({ ...base, limits: { cpus: 2 } }, { maxLimits: { cpus: 1 } })
    assert.unreachable('accepted')
  } catch (err) {
    const e = err as Error & { field: string, max: number, value: number }
    assert.is(e.name, 'LimitOutOfRangeError')
    assert.is(e.field, 'limits.cpus')
    assert.is(e.max, 1)
    assert.is(e.value, 2)
    assert.match(e.message, /limits\.cpus is 2, allowed range is 0\.05\.\.1/)
  }
})

test('defaults never exceed a lower policy maximum', () => {
  const job = validateJobSpec(base, { maxLimits: { memoryMb: 64 } })
  assert.is(job.limits.memoryMb, 64)
})

test.run()
