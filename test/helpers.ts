/**
 * Shared test helpers: a time bound for every test that waits on I/O (uvu has no per-test timeout),
 * the offline-built test image, temporary data dirs, a CLI runner, and a check for leftover sandboxes.
 */
import { execFile, spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { processExists } from '../ledger/chain/lock.ts'
import { createDocker, SANDBOX_LABEL } from '../sandbox/index.ts'
import type { Docker } from '../sandbox/index.ts'
import type { ChildProcess } from 'node:child_process'

export const ROOT = join(import.meta.dirname, '..')

/** Wraps a test body so that it fails after `ms` instead of hanging the whole run. */
export function bounded<A extends unknown[]> (ms: number, fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => { reject(new Error(`test did not finish within ${ms} ms`)) }, ms)
    })
    try {
      await Promise.race([fn(...args), timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}

/** The image ID of the busybox test image built by `npm run images` (scripts/build-images.ts). */
export function testImage (): string {
  const path = join(ROOT, '.images', 'images.json')
  if (!existsSync(path)) throw new Error('The test image is missing: run `npm run images` (needs Docker)')
  return (JSON.parse(readFileSync(path, 'utf8')) as { busybox: { id: string } }).busybox.id
}

export async function tempDir (prefix = 'clawnode-test-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}

let docker: Docker | undefined
export async function testDocker (): Promise<Docker> {
  docker ??= await createDocker()
  return docker
}

/** Containers created by any clawnode runner that still exist (running or not). */
export async function sandboxContainers (): Promise<string[]> {
  const d = await testDocker()
  const list = await d.listContainers({ all: true, filters: { label: [SANDBOX_LABEL] } })
  return list.map(c => c.Id)
}

export interface CliResult { code: number | null, stdout: string, stderr: string }

/** Runs the clawnode CLI from the source tree (or `bin` if given) with a time bound. */
export async function cli (args: string[], options: { env?: NodeJS.ProcessEnv, node?: string, bin?: string, timeoutMs?: number, cwd?: string } = {}): Promise<CliResult> {
  return await new Promise((resolve) => {
    execFile(options.node ?? process.execPath, [options.bin ?? join(ROOT, 'node', 'cli', 'bin.js'), ...args], {
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 16 * 1024 * 1024,
      cwd: options.cwd ?? ROOT
    }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null
      resolve({ code, stdout, stderr })
    })
  })
}

/** Asserts that a promise rejects with an error of the given name. */
export async function rejectsWith (p: Promise<unknown>, name: string): Promise<void> {
  try {
    await p
  } catch (err) {
    if ((err as Error).name !== name) throw new Error(`expected ${name}, got ${(err as Error).name}: ${(err as Error).message}`)
    return
  }
  throw new Error(`expected ${name}, but it resolved`)
}

export interface StartedNode { child: ChildProcess, peerId: string, addrs: string[], keys: string[], data: string, gateway?: string }

/**
 * Starts `clawnode start --json` as a real process (a fresh data dir that allows the test image, unless
 * one is given) and waits for its `started` event.
 */
export async function startNode (extra: string[] = [], options: { data?: string, config?: unknown } = {}): Promise<StartedNode> {
  const data = options.data ?? await tempDir()
  await cli(['images', 'allow', testImage(), '--data', data])
  if (options.config !== undefined) await writeFile(join(data, 'config.json'), JSON.stringify(options.config))
  const child = spawn(process.execPath, [join(ROOT, 'node', 'cli', 'bin.js'), 'start', '--json', '--data', data, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (c: Buffer) => { stderr += c.toString() })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const first = await new Promise<Record<string, unknown>>((resolve, reject) => {
    lines.once('line', (line) => { try { resolve(JSON.parse(line) as Record<string, unknown>) } catch (err) { reject(err) } })
    child.once('exit', (code) => { reject(new Error(`clawnode start exited with ${code}: ${stderr}`)) })
  })
  if (first.event !== 'started') throw new Error(`clawnode start said ${JSON.stringify(first)} first`)
  return { child, data, peerId: first.peerId as string, addrs: first.addrs as string[], keys: first.keys as string[], ...(typeof first.gateway === 'string' ? { gateway: first.gateway } : {}) }
}

/** Ctrl-C for a started node; resolves with its exit code (at once if it already exited). */
export async function stopNode (p: StartedNode, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return p.child.exitCode
  const exited = new Promise<number | null>(resolve => p.child.once('exit', (code) => { resolve(code) }))
  p.child.kill(signal)
  return await exited
}

/**
 * Wraps a suite's before hook so that its error is printed: uvu counts the suite's tests as failed
 * when a before hook throws, but shows no error at all.
 */
export function setup<A extends unknown[]> (fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args)
    } catch (err) {
      process.stderr.write(`✗ a before hook failed, so its suite's tests count as failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
      throw err
    }
  }
}

/** Whether process `pid` has ended within `ms` (polled): true once it is gone, false if it still runs then. */
export async function gone (pid: number, ms = 5_000): Promise<boolean> {
  const end = Date.now() + ms
  while (processExists(pid) && Date.now() < end) await sleep(50)
  return !processExists(pid)
}

/**
 * Pids of model processes (sandbox/llama's worker), found through /proc: those loading a model from
 * under `dir`, and/or those forked by `parent`.
 */
export async function modelWorkerPids (filter: { dir?: string, parent?: number }): Promise<number[]> {
  const pids: number[] = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmd = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (!cmd.includes('llama/worker') || (filter.dir !== undefined && !cmd.includes(filter.dir))) continue
    if (filter.parent !== undefined) {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '')
      // (The command name in parentheses may hold spaces: the fields after it are fixed.)
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== filter.parent) continue
    }
    pids.push(Number(entry))
  }
  return pids
}
