/**
 * Writes sandbox/schema/job-spec.v1.json from the constants, so the published schema and the validator
 * cannot drift (a test checks the file is up to date). Usage: node scripts/gen-schema.ts
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { jobSpecSchema } from '../sandbox/index.ts'

const path = join(import.meta.dirname, '..', 'sandbox', 'schema', 'job-spec.v1.json')
writeFileSync(path, JSON.stringify(jobSpecSchema(), null, 2) + '\n')
process.stdout.write(`wrote ${path}\n`)
