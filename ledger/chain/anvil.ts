/**
 * The embedded local chain: anvil as a child process on 127.0.0.1 (port chosen by the OS), its state
 * kept in a file in the data dir across restarts, and a pid file so that an anvil left behind by a
 * killed parent is found and ended on the next start, or taken over by a node that joins it
 * (`adoptLocalChain`, shared.ts) and ended when that node stops.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { basename, dirname, join, resolve } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { logger } from '@libp2p/logger'
import type { AbortOptions } from '@libp2p/interface'
import type { ChildProcess } from 'node:child_process'
import {
  ANVIL_PID_FILE, ANVIL_STATE_FILE, ANVIL_STOP_TIMEOUT_MS, DEFAULT_ANVIL_START_TIMEOUT_MS, DEFAULT_HARDFORK,
  DEFAULT_LOCAL_CHAIN_ID, DEFAULT_STATE_INTERVAL_S, LOCAL_CHAIN_HOST, MAX_ANVIL_BANNER_BYTES
} from './constants.ts'
import { AnvilNotFoundError, AnvilStartError } from './errors.ts'
import { processExists } from './lock.ts'

const log = logger('clawnode:chain')
const require = createRequire(import.meta.url)

export interface LocalChainInit {
  /** The chain's data dir: state file and pid file. Created if missing. */
  dir: string
  /** DEFAULT_LOCAL_CHAIN_ID (31337). */
  chainId?: number
  /** DEFAULT_HARDFORK. */
  hardfork?: string
  /** How often anvil dumps its state besides on exit; DEFAULT_STATE_INTERVAL_S. */
  stateIntervalS?: number
  /** DEFAULT_ANVIL_START_TIMEOUT_MS. */
  startTimeoutMs?: number
  /** The anvil executable; by default the one from foundry's platform package (@foundry-rs/anvil-<os>-<arch>). */
  binary?: string
}

export interface LocalChain {
  /** `http://127.0.0.1:<port>` */
  rpcUrl: string
  chainId: number
  /** The anvil process. */
  pid: number
  /** Whether this process started the chain (and so `stop()` ends it). */
  owned: boolean
  /** Ends anvil (it dumps its state first) and removes the pid file; a no-op for a chain not owned. */
  stop: (options?: AbortOptions) => Promise<void>
}

/**
 * The anvil binary from foundry's per-platform npm package (`@foundry-rs/anvil-<os>-<arch>`). The
 * project depends on the linux-amd64 one directly, as an optional dependency: the `@foundry-rs/anvil`
 * wrapper lists every platform's package, and the others are not on the registry these machines
 * reach, so its lock file could not pass `npm ci`.
 */
export function anvilBinary (): string {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`
  let dir: string
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`))
  } catch (err) {
    throw new AnvilNotFoundError(pkg, { cause: err })
  }
  const bin = join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil')
  if (!existsSync(bin)) throw new AnvilNotFoundError(pkg)
  return bin
}

/** Starts anvil for `init.dir`, first ending an anvil a killed parent left running for the same dir. */
export async function startLocalChain (init: LocalChainInit, options: AbortOptions = {}): Promise<LocalChain> {
  const dir = resolve(init.dir)
  const chainId = init.chainId ?? DEFAULT_LOCAL_CHAIN_ID
  const statePath = join(dir, ANVIL_STATE_FILE)
  const pidPath = join(dir, ANVIL_PID_FILE)
  const binary = init.binary ?? anvilBinary()
  await mkdir(dir, { recursive: true })
  await killLeftover(pidPath, statePath, options)
  options.signal?.throwIfAborted()

  const args = [
    '--host', LOCAL_CHAIN_HOST, '--port', '0', '--chain-id', String(chainId),
    '--hardfork', init.hardfork ?? DEFAULT_HARDFORK,
    '--state', statePath, '--state-interval', String(init.stateIntervalS ?? DEFAULT_STATE_INTERVAL_S),
    '--color', 'never'
  ]
  log('starting %s %s', binary, args.join(' '))
  // Not detached: anvil stays in our process group, so a terminal's Ctrl-C reaches it too.
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: false })
  const onParentExit = (): void => { child.kill('SIGTERM') }
  process.on('exit', onParentExit)
  let port: number
  try {
    port = await waitListening(child, init.startTimeoutMs ?? DEFAULT_ANVIL_START_TIMEOUT_MS, options)
  } catch (err) {
    process.off('exit', onParentExit)
    await endChild(child)
    throw err
  }
  const pid = child.pid as number
  await writeFile(pidPath, `${pid}\n`)
  const rpcUrl = `http://${LOCAL_CHAIN_HOST}:${port}`
  log('anvil %d listens on %s (chain id %d, state %s)', pid, rpcUrl, chainId, statePath)

  // Keep draining its output (a full pipe would stall anvil) into the trace log.
  const trace = log.newScope('anvil')
  child.stdout?.on('data', (c: Buffer) => { trace.trace('%s', c.toString('utf8').trimEnd()) })
  child.stderr?.on('data', (c: Buffer) => { trace('%s', c.toString('utf8').trimEnd()) })
  // The chain must not keep this process alive: stop() or the exit hook ends it.
  child.unref()
  unrefStream(child.stdout)
  unrefStream(child.stderr)

  let stopping: Promise<void> | undefined
  return {
    rpcUrl,
    chainId,
    pid,
    owned: true,
    stop: async () => {
      stopping ??= (async () => {
        await endChild(child)
        process.off('exit', onParentExit)
        if (await readPid(pidPath) === pid) await rm(pidPath, { force: true })
        log('anvil %d stopped', pid)
      })()
      await stopping
    }
  }
}

/** Resolves with the port anvil prints ("Listening on 127.0.0.1:PORT"), bounded by `timeoutMs`. */
async function waitListening (child: ChildProcess, timeoutMs: number, options: AbortOptions): Promise<number> {
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal === undefined ? [] : [options.signal])])
  let banner = ''
  let errors = ''
  const tail = (): string => (banner + errors).slice(-2000).trim()
  return await new Promise<number>((resolve, reject) => {
    const done = (): void => {
      child.stdout?.off('data', onOut)
      child.stderr?.off('data', onErr)
      child.off('exit', onExit)
      child.off('error', onError)
      signal.removeEventListener('abort', onAbort)
    }
    const onOut = (c: Buffer): void => {
      banner = (banner + c.toString('utf8')).slice(-MAX_ANVIL_BANNER_BYTES)
      const m = /Listening on ([\d.]+):(\d+)/.exec(banner)
      if (m !== null) { done(); resolve(Number(m[2])) }
    }
    const onErr = (c: Buffer): void => { errors = (errors + c.toString('utf8')).slice(-MAX_ANVIL_BANNER_BYTES) }
    const onExit = (code: number | null, sig: string | null): void => {
      done()
      reject(new AnvilStartError(`anvil exited (${sig ?? `code ${code}`}) before it listened`, tail()))
    }
    const onError = (err: Error): void => { done(); reject(new AnvilStartError(`anvil could not be run: ${err.message}`, '', { cause: err })) }
    const onAbort = (): void => {
      done()
      const reason = options.signal?.aborted === true ? options.signal.reason : undefined
      reject(reason ?? new AnvilStartError(`anvil did not report its address within ${timeoutMs} ms`, tail()))
    }
    child.stdout?.on('data', onOut)
    child.stderr?.on('data', onErr)
    child.once('exit', onExit)
    child.once('error', onError)
    if (signal.aborted) onAbort()
    else signal.addEventListener('abort', onAbort, { once: true })
  })
}

/** SIGTERM (anvil dumps its state), then SIGKILL after ANVIL_STOP_TIMEOUT_MS; resolves when it has exited. */
async function endChild (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise<void>((resolve) => { child.once('exit', () => { resolve() }) })
  child.kill('SIGTERM')
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<'late'>((resolve) => { timer = setTimeout(() => { resolve('late') }, ANVIL_STOP_TIMEOUT_MS) })
  try {
    if (await Promise.race([exited, late]) === 'late') {
      log.error('anvil %d did not exit within %d ms of SIGTERM; killing it', child.pid, ANVIL_STOP_TIMEOUT_MS)
      child.kill('SIGKILL')
      await exited
    }
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Ends the anvil named in the pid file if it is still running, but only when /proc shows it is anvil
 * with this dir's state file: a pid reused by some other process is left alone.
 */
async function killLeftover (pidPath: string, statePath: string, options: AbortOptions): Promise<void> {
  const pid = await readPid(pidPath)
  if (pid === undefined) return
  if (processExists(pid) && await isOurAnvil(pid, statePath)) {
    log('ending anvil %d left running by an earlier process', pid)
    await endAnvilPid(pid, options)
  }
  await rm(pidPath, { force: true })
}

/** SIGTERM to an anvil that is not our child (it dumps its state), SIGKILL after ANVIL_STOP_TIMEOUT_MS; resolves when it is gone. */
async function endAnvilPid (pid: number, options: AbortOptions = {}): Promise<void> {
  try { process.kill(pid, 'SIGTERM') } catch {}
  const deadline = Date.now() + ANVIL_STOP_TIMEOUT_MS
  while (processExists(pid) && Date.now() < deadline) {
    await sleep(50, undefined, options.signal === undefined ? {} : { signal: options.signal })
  }
  if (processExists(pid)) {
    log.error('anvil %d did not exit within %d ms of SIGTERM; killing it', pid, ANVIL_STOP_TIMEOUT_MS)
    try { process.kill(pid, 'SIGKILL') } catch {}
    const killDeadline = Date.now() + ANVIL_STOP_TIMEOUT_MS
    while (processExists(pid) && Date.now() < killDeadline) await sleep(20)
  }
}

export interface AdoptInit {
  /** The chain's data dir, as given to startLocalChain. */
  dir: string
  pid: number
  rpcUrl: string
  chainId: number
}

/**
 * Takes over an anvil of `init.dir` that another process started and no longer stops (it was killed
 * with SIGKILL): the returned chain is owned, so its `stop()` (or this process's exit) ends it. The
 * caller holds the dir's start lock. Undefined when /proc does not show `pid` to be this dir's anvil
 * (a reused pid, or no /proc to tell): nothing is then taken over, nor ever killed.
 */
export async function adoptLocalChain (init: AdoptInit): Promise<LocalChain | undefined> {
  const dir = resolve(init.dir)
  const { pid } = init
  const pidPath = join(dir, ANVIL_PID_FILE)
  if (!processExists(pid) || !await isOurAnvil(pid, join(dir, ANVIL_STATE_FILE))) return undefined
  await writeFile(pidPath, `${pid}\n`)
  const onExit = (): void => { try { process.kill(pid, 'SIGTERM') } catch {} }
  process.on('exit', onExit)
  log('took over anvil %d at %s (its starter is gone)', pid, init.rpcUrl)
  let stopping: Promise<void> | undefined
  return {
    rpcUrl: init.rpcUrl,
    chainId: init.chainId,
    pid,
    owned: true,
    stop: async () => {
      stopping ??= (async () => {
        if (processExists(pid) && await isOurAnvil(pid, join(dir, ANVIL_STATE_FILE))) await endAnvilPid(pid)
        process.off('exit', onExit)
        if (await readPid(pidPath) === pid) await rm(pidPath, { force: true })
        log('anvil %d stopped', pid)
      })()
      await stopping
    }
  }
}

async function isOurAnvil (pid: number, statePath: string): Promise<boolean> {
  let argv: string[]
  try {
    argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')
  } catch {
    // No /proc (macOS) or already gone: do not kill what cannot be identified.
    return false
  }
  const i = argv.indexOf('--state')
  return basename(argv[0] ?? '').startsWith('anvil') && i > 0 && argv[i + 1] === statePath
}

async function readPid (path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim())
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function unrefStream (s: NodeJS.ReadableStream | null): void {
  (s as { unref?: () => void } | null)?.unref?.()
}
