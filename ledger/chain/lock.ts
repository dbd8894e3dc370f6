/**
 * A lock file per data dir, so that nodes on one machine do not start two chains or deploy the
 * contracts twice at once. The file holds the holder's pid; a lock whose holder is gone is taken over.
 */
import { readFileSync } from 'node:fs'
import { open, readFile, rm, stat } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import type { AbortOptions } from '@libp2p/interface'
import { DEFAULT_LOCK_TIMEOUT_MS, LOCK_POLL_MS } from './constants.ts'
import { LockTimeoutError } from './errors.ts'

/** A lock file that is still empty this long after it was created belongs to a process that died. */
const EMPTY_LOCK_GRACE_MS = 5_000

export interface FileLockOptions extends AbortOptions {
  /** How long to wait for another holder; DEFAULT_LOCK_TIMEOUT_MS. */
  timeoutMs?: number
}

/**
 * Whether a process with this pid runs (EPERM: it exists but belongs to someone else). A zombie does
 * not count: an orphan that has exited stays one until init reaps it, which can take a second or more.
 */
export function processExists (pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    // /proc/<pid>/stat: "pid (comm) state ..."; comm may hold spaces and parentheses.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    return true // no /proc (macOS): kill(0) is all there is
  }
}

/** Runs `fn` holding the lock file at `path`; waits (bounded) while another live process holds it. */
export async function withFileLock<T> (path: string, fn: () => Promise<T>, options: FileLockOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS
  const deadline = Date.now() + timeoutMs
  for (;;) {
    options.signal?.throwIfAborted()
    try {
      const fh = await open(path, 'wx')
      try { await fh.writeFile(String(process.pid)) } finally { await fh.close() }
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
    const holder = await lockHolder(path)
    if (holder === 'stale') {
      await rm(path, { force: true })
      continue
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(path, holder === 'starting' ? 'a process that is creating it' : `pid ${holder}`, timeoutMs)
    await sleep(LOCK_POLL_MS, undefined, options.signal === undefined ? {} : { signal: options.signal })
  }
  try {
    return await fn()
  } finally {
    await rm(path, { force: true })
  }
}

/** The pid holding the lock, 'starting' while the file is still being written, or 'stale'. */
async function lockHolder (path: string): Promise<number | 'starting' | 'stale'> {
  try {
    const text = (await readFile(path, 'utf8')).trim()
    if (text === '') {
      const { mtimeMs } = await stat(path)
      return Date.now() - mtimeMs > EMPTY_LOCK_GRACE_MS ? 'stale' : 'starting'
    }
    const pid = Number(text)
    return processExists(pid) ? pid : 'stale'
  } catch (err) {
    // Released between our attempt and this read: try again at once.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'stale'
    throw err
  }
}
