/**
 * The warm pool: sandboxes started ahead of time per (image, limits profile), so a job skips
 * container start-up. Each sandbox serves exactly one job and is destroyed after it; the pool refills
 * in the background, backing off when starts fail. A job that finds its pool empty starts cold.
 */
import { existsSync } from 'node:fs'
import { logger } from '@libp2p/logger'
import { MAX_POOL_SIZE, POOL_RETRY_MAX_MS, POOL_RETRY_MIN_MS } from './constants.ts'
import { createSandbox, profileKey } from './sandbox.ts'
import type { Docker } from './docker.ts'
import type { Sandbox, SandboxProfile } from './sandbox.ts'

const log = logger('clawnode:sandbox:pool')

export interface PoolEntryInit {
  profile: SandboxProfile
  size: number
}

export interface WarmPoolInit {
  docker: Docker
  runtime: string
  keeperPath: string
  home: string
  entries: PoolEntryInit[]
}

export interface WarmPoolStats {
  profile: string
  size: number
  ready: number
  starting: number
  failures: number
}

export interface WarmPool {
  start: () => void
  stop: () => Promise<void>
  /** A ready sandbox for the profile, or undefined when none is ready. */
  take: (profile: SandboxProfile) => Sandbox | undefined
  stats: () => WarmPoolStats[]
  /** Resolves once every entry holds its full size (or the signal aborts). */
  whenFull: (options?: { signal?: AbortSignal }) => Promise<void>
}

interface Slot {
  init: PoolEntryInit
  ready: Sandbox[]
  starting: number
  failures: number
  retryAt: number
}

export function createWarmPool (init: WarmPoolInit): WarmPool {
  const slots = new Map<string, Slot>()
  for (const entry of init.entries) {
    if (!Number.isInteger(entry.size) || entry.size < 0 || entry.size > MAX_POOL_SIZE) {
      throw new RangeError(`pool size must be an integer between 0 and ${MAX_POOL_SIZE}`)
    }
    slots.set(profileKey(entry.profile), { init: entry, ready: [], starting: 0, failures: 0, retryAt: 0 })
  }
  let running = false
  const inFlight = new Set<Promise<void>>()
  let retryTimer: NodeJS.Timeout | undefined
  const changed = new EventTarget()

  const fill = (): void => {
    if (!running) return
    const now = Date.now()
    for (const slot of slots.values()) {
      if (slot.retryAt > now) { scheduleRetry(slot.retryAt - now); continue }
      while (slot.ready.length + slot.starting < slot.init.size) {
        slot.starting++
        const p = createSandbox({ docker: init.docker, profile: slot.init.profile, runtime: init.runtime, keeperPath: init.keeperPath, owner: 'pool', home: init.home })
          .then(async (sandbox) => {
            if (!running) { await sandbox.destroy(); return }
            slot.ready.push(sandbox)
            slot.failures = 0
          }, (err: unknown) => {
            slot.failures++
            const delay = Math.min(POOL_RETRY_MAX_MS, POOL_RETRY_MIN_MS * 2 ** (slot.failures - 1))
            slot.retryAt = Date.now() + delay
            log.error('warm sandbox failed to start (retry in %d ms): %e', delay, err)
          })
          .finally(() => {
            slot.starting--
            inFlight.delete(p)
            changed.dispatchEvent(new Event('change'))
            fill()
          })
        inFlight.add(p)
      }
    }
  }

  const scheduleRetry = (ms: number): void => {
    if (retryTimer !== undefined) return
    retryTimer = setTimeout(() => { retryTimer = undefined; fill() }, ms)
  }

  return {
    start () {
      running = true
      fill()
    },
    async stop () {
      running = false
      changed.dispatchEvent(new Event('change'))
      clearTimeout(retryTimer)
      retryTimer = undefined
      await Promise.allSettled([...inFlight])
      const all = [...slots.values()].flatMap(s => s.ready.splice(0))
      await Promise.allSettled(all.map(async s => { await s.destroy() }))
    },
    take (profile) {
      const slot = slots.get(profileKey(profile))
      if (slot === undefined) return undefined
      let sandbox: Sandbox | undefined
      while ((sandbox = slot.ready.shift()) !== undefined) {
        // A warm sandbox whose cgroup is gone has died while waiting (daemon restart, OOM): drop it.
        if (sandbox.cgroup === undefined || existsSync(sandbox.cgroup.pids)) break
        void sandbox.destroy().catch(() => {})
      }
      fill()
      return sandbox
    },
    stats () {
      return [...slots.entries()].map(([key, s]) => ({ profile: key, size: s.init.size, ready: s.ready.length, starting: s.starting, failures: s.failures }))
    },
    async whenFull (options = {}) {
      const full = (): boolean => [...slots.values()].every(s => s.ready.length >= s.init.size)
      while (!full()) {
        options.signal?.throwIfAborted()
        if (!running) throw new Error('the warm pool is stopped')
        await new Promise<void>((resolve) => {
          const done = (): void => { changed.removeEventListener('change', done); options.signal?.removeEventListener('abort', done); resolve() }
          changed.addEventListener('change', done)
          options.signal?.addEventListener('abort', done)
        })
      }
    }
  }
}
