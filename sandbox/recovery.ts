/**
 * After a crash (`kill -9`, power loss) some run directories have a request but no result. On start the
 * runner finds those whose process is gone and writes their `result.json` as failed, so every run
 * directory ends with a result that parses.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ClawnodeError } from '../protocol/index.ts'
import { writeFileAtomic } from './atomic-file.ts'
import { JOB_RESULT_VERSION } from './constants.ts'
import { emptyUsage } from './result.ts'
import { processAlive } from './sandbox.ts'
import type { JobResult } from './result.ts'

export class RunInterruptedError extends ClawnodeError {
  static override name = 'RunInterruptedError'
  constructor () {
    super('The node stopped (crash or kill) while this job was running; its sandbox was removed', {
      hint: 'Submit the job again.',
      retryable: true
    })
  }
}

/** Run directories are assembled under this prefix (plus `<jobId>.<pid>`) and renamed into place. */
export const STAGING_PREFIX = '.staging-'

/** Writes a failed result for every interrupted run; returns how many there were. */
export async function recoverInterruptedRuns (runsDir: string, runtime: string): Promise<number> {
  let names: string[]
  try { names = await readdir(runsDir) } catch { return 0 }
  let recovered = 0
  for (const jobId of names) {
    const dir = join(runsDir, jobId)
    if (jobId.startsWith(STAGING_PREFIX)) {
      // A run directory still being assembled when its process died: no run started from it.
      if (!processAlive(Number(jobId.slice(jobId.lastIndexOf('.') + 1)))) await rm(dir, { recursive: true, force: true })
      continue
    }
    const has = async (f: string): Promise<boolean> => await stat(join(dir, f)).then(() => true, () => false)
    if (await has('result.json') || !(await has('request.json'))) continue
    const pid = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => ''))
    if (processAlive(pid)) continue
    let image: string | null = null
    try {
      const request = JSON.parse(await readFile(join(dir, 'request.json'), 'utf8')) as { image?: unknown }
      if (typeof request.image === 'string') image = request.image
    } catch {}
    const started = (await stat(join(dir, 'request.json'))).mtime.toISOString()
    const result: JobResult = {
      version: JOB_RESULT_VERSION, jobId, status: 'failed', image, runtime, warm: false, startedAt: started,
      finishedAt: new Date().toISOString(), exitCode: null, usage: emptyUsage(), outputTruncated: false, artifacts: [],
      error: new RunInterruptedError().toJSON()
    }
    await writeFileAtomic(join(dir, 'result.json'), JSON.stringify(result, null, 2) + '\n')
    recovered++
  }
  return recovered
}
