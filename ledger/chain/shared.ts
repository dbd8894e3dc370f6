/**
 * One local chain shared by several nodes on a machine: the node that starts anvil writes
 * `{ rpcUrl, chainId, pid, owner }` to chain.json in the shared dir, and the others reuse it while it
 * answers. Whoever owns the chain stops it; an owner killed without stopping it (kill -9) hands the
 * chain to the next node that joins or leaves it, so that the chain is never left running.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { logger } from '@libp2p/logger'
import type { AbortOptions } from '@libp2p/interface'
import { adoptLocalChain, startLocalChain } from './anvil.ts'
import type { LocalChain, LocalChainInit } from './anvil.ts'
import { CHAIN_FILE, CHAIN_PROBE_TIMEOUT_MS, DEFAULT_LOCAL_CHAIN_ID, START_LOCK_FILE } from './constants.ts'
import { ChainMismatchError } from './errors.ts'
import { processExists, withFileLock } from './lock.ts'

const log = logger('clawnode:chain')

/** The contents of chain.json. */
export interface ChainInfo {
  rpcUrl: string
  chainId: number
  /** The anvil process. */
  pid: number
  /** The process that owns the chain and stops it (0 in a file written before owners were kept: taken over). */
  owner: number
}

/** Only a chain on this machine's loopback is ever reused. */
const LOCAL_RPC = /^http:\/\/127\.0\.0\.1:\d{1,5}$/

/** chain.json of `dir`, or undefined when missing or malformed. */
export async function readChainFile (dir: string): Promise<ChainInfo | undefined> {
  try {
    const v = JSON.parse(await readFile(join(dir, CHAIN_FILE), 'utf8')) as Partial<ChainInfo>
    if (typeof v.rpcUrl !== 'string' || !LOCAL_RPC.test(v.rpcUrl)) return undefined
    if (!Number.isSafeInteger(v.chainId) || !Number.isSafeInteger(v.pid)) return undefined
    return { rpcUrl: v.rpcUrl, chainId: v.chainId as number, pid: v.pid as number, owner: Number.isSafeInteger(v.owner) ? v.owner as number : 0 }
  } catch {
    return undefined
  }
}

/** The chain id the RPC at `rpcUrl` answers with, or undefined when it does not answer in time. */
export async function probeChainId (rpcUrl: string, options: AbortOptions = {}): Promise<number | undefined> {
  const signal = AbortSignal.any([AbortSignal.timeout(CHAIN_PROBE_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      signal
    })
    const body = await res.json() as { result?: unknown }
    return typeof body.result === 'string' ? Number(BigInt(body.result)) : undefined
  } catch {
    options.signal?.throwIfAborted()
    return undefined
  }
}

/**
 * Reuses the live chain named in `dir`/chain.json, or starts one there (under a lock, so two nodes
 * starting together make one chain). The node that started the chain stops it; when it does, the
 * others find chain.json dead on their next call and one of them starts the chain again from the same
 * state file. A chain whose owner died without stopping it is taken over by the node that joins it
 * (it becomes the owner), or, when a node that had joined earlier leaves first, ended by that node.
 */
export async function connectOrStartLocalChain (dir: string, init: Omit<LocalChainInit, 'dir'> = {}, options: AbortOptions = {}): Promise<LocalChain> {
  dir = resolve(dir)
  const chainId = init.chainId ?? DEFAULT_LOCAL_CHAIN_ID
  const live = await liveChain(dir, chainId, options)
  if (live !== undefined && processExists(live.owner)) return follower(dir, live)
  return await withFileLock(join(dir, START_LOCK_FILE), async () => {
    // Another process may have started or taken it over while this one waited for the lock.
    const again = await liveChain(dir, chainId, options)
    if (again !== undefined && processExists(again.owner)) return follower(dir, again)
    if (again !== undefined) {
      const adopted = await adoptLocalChain({ dir, ...again })
      // Not provably this dir's anvil (no /proc): used as it is, never killed.
      if (adopted === undefined) return follower(dir, again)
      log('the owner (pid %d) of the chain in %s is gone; this process (pid %d) owns it now', again.owner, dir, process.pid)
      await writeChainFile(dir, { ...again, owner: process.pid })
      return owned(dir, adopted)
    }
    const chain = await startLocalChain({ ...init, dir }, options)
    await writeChainFile(dir, { rpcUrl: chain.rpcUrl, chainId: chain.chainId, pid: chain.pid, owner: process.pid })
    return owned(dir, chain)
  }, options)
}

async function writeChainFile (dir: string, info: ChainInfo): Promise<void> {
  const tmp = join(dir, `${CHAIN_FILE}.${process.pid}.tmp`)
  await writeFile(tmp, JSON.stringify(info, null, 2) + '\n')
  await rename(tmp, join(dir, CHAIN_FILE))
}

/** The chain as its owner holds it: stopping it ends anvil and removes chain.json. */
function owned (dir: string, chain: LocalChain): LocalChain {
  return {
    ...chain,
    stop: async (opts?: AbortOptions) => {
      if ((await readChainFile(dir))?.pid === chain.pid) await rm(join(dir, CHAIN_FILE), { force: true })
      await chain.stop(opts)
    }
  }
}

/**
 * The chain as a node that joined it holds it: stopping it leaves the chain to its owner, unless the
 * owner died without stopping it (kill -9); then this node, leaving, takes it over and ends it, so
 * that it is not left behind. Nodes still on it follow it to its next start (node/chain.ts).
 */
function follower (dir: string, info: ChainInfo): LocalChain {
  let stopping: Promise<void> | undefined
  const stop = async (options: AbortOptions): Promise<void> => {
    if (processExists(info.owner)) return
    await withFileLock(join(dir, START_LOCK_FILE), async () => {
      const now = await readChainFile(dir)
      if (now?.pid !== info.pid || processExists(now.owner)) return
      const adopted = await adoptLocalChain({ dir, ...now })
      if (adopted === undefined) return
      log('the owner (pid %d) of the chain in %s is gone; the last node to leave ends it', now.owner, dir)
      await owned(dir, adopted).stop(options)
    }, options)
  }
  return {
    rpcUrl: info.rpcUrl,
    chainId: info.chainId,
    pid: info.pid,
    owned: false,
    stop: async (options: AbortOptions = {}) => {
      stopping ??= stop(options)
      await stopping
    }
  }
}

/** The chain named in chain.json while its anvil runs and answers with `chainId`; undefined otherwise. */
async function liveChain (dir: string, chainId: number, options: AbortOptions): Promise<ChainInfo | undefined> {
  const info = await readChainFile(dir)
  if (info === undefined) return undefined
  if (!processExists(info.pid)) {
    log('the chain in %s (pid %d) is gone; starting another', dir, info.pid)
    return undefined
  }
  const answered = await probeChainId(info.rpcUrl, options)
  if (answered === undefined) {
    log('the chain in %s (%s, pid %d) does not answer; starting another', dir, info.rpcUrl, info.pid)
    return undefined
  }
  if (answered !== chainId) throw new ChainMismatchError(info.rpcUrl, chainId, answered)
  log('reusing the chain at %s (pid %d, owner %d)', info.rpcUrl, info.pid, info.owner)
  return info
}
