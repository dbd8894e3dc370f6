import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { jobSpecSchema, validateJobSpec } from '../../sandbox/index.ts'
import { ROOT } from '../helpers.ts'

test('the published schema file is generated from the current constants', () => {
  const onDisk = JSON.parse(readFileSync(join(ROOT, 'sandbox', 'schema', 'job-spec.v1.json'), 'utf8')) as unknown
  assert.equal(onDisk, jobSpecSchema(), 'run `node scripts/gen-schema.ts`')
})

test('every example job spec validates', () => {
  const dir = join(ROOT, 'examples')
  const specs = readdirSync(dir).filter(f => f.endsWith('.json'))
  assert.ok(specs.length >= 3)
  for (const name of specs) validateJobSpec(JSON.parse(readFileSync(join(dir, name), 'utf8')))
})

test.run()
