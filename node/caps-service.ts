/**
 * Capability advertisement and discovery. The node serves its signed capability record over
 * /clawnode/caps/1.0.0 and announces itself as a DHT provider under a key per capability (runtime,
 * image, model, model family, GPU class, and the generic inference key). A DHT cannot delete what
 * other peers hold, so records are short-lived and republished (re-signed with a higher sequence
 * number) before they lapse; a stopped node simply stops republishing. Consumers find providers for
 * a key, then fetch and verify each provider's record from the provider itself. What the node
 * advertises can change while it runs (update(): a model withdrawn after a crash): the record is
 * re-signed at once and served from then on.
 */
import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import {
  CAPS_FETCH_TIMEOUT_MS, CAPS_PROTOCOL, MAX_CAPABILITY_RECORD_BYTES, openCapabilityRecord, signCapabilityRecord
} from '../protocol/index.ts'
import { capabilityCid, capabilityKey, gpuClass } from './cap-keys.ts'
import { DEFAULT_RECORD_TTL_MS } from './constants.ts'
import { modelFamily } from './model-family.ts'
import type { ClawNode } from './libp2p.ts'
import type { CapabilityKey } from './cap-keys.ts'
import type { Capabilities, CapabilityRecordInfo } from '../protocol/index.ts'
import type { AbortOptions, PeerId, PrivateKey } from '@libp2p/interface'

const log = logger('clawnode:caps')

/** Bound on one discovery (DHT query plus record fetches) when the caller gives none. */
export const DEFAULT_DISCOVERY_TIMEOUT_MS = 10_000
/** Largest number of providers a discovery returns. */
export const MAX_DISCOVERED_PROVIDERS = 64

export interface CapsServiceInit {
  node: ClawNode
  privateKey: PrivateKey
  capabilities: Capabilities
  /** Validity of the signed record and the provider announcements; republished at half of it. */
  ttlMs?: number
}

export interface DiscoverOptions {
  signal?: AbortSignal
  /** Stop after this many verified providers (default MAX_DISCOVERED_PROVIDERS). */
  limit?: number
}

export interface CapsService {
  start: () => Promise<void>
  stop: () => Promise<void>
  /** The keys this node advertises. */
  keys: () => string[]
  /** What this node advertises now (the content of the record it serves). */
  capabilities: () => Capabilities
  /**
   * Replaces what this node advertises: the record is re-signed at once with a higher sequence number
   * and served from then on; keys it adds are announced. Keys it drops cannot be taken back from the
   * DHT: they lapse with the TTL, and a consumer that fetches the record sees what is offered.
   */
  update: (capabilities: Capabilities, options?: AbortOptions) => Promise<void>
  /** Fetches and verifies a peer's capability record. */
  fetch: (peer: PeerId, options?: { signal?: AbortSignal }) => Promise<CapabilityRecordInfo>
  /** Finds providers of a capability in the DHT and returns their verified records. */
  discover: (cap: CapabilityKey, options?: DiscoverOptions) => Promise<CapabilityRecordInfo[]>
}

/** The capability keys a set of capabilities is advertised under. */
export function advertisedKeys (caps: Capabilities): string[] {
  const keys: CapabilityKey[] = [
    ...caps.runtimes.map(runtime => ({ kind: 'runtime' as const, runtime })),
    ...caps.images.map(image => ({ kind: 'image' as const, image })),
    ...caps.models.map(m => ({ kind: 'model' as const, model: m.id })),
    ...caps.models.map(m => modelFamily(m.family ?? '')).filter(f => f !== '').map(family => ({ kind: 'family' as const, family })),
    ...caps.gpus.map(g => ({ kind: 'gpu' as const, gpuClass: gpuClass(g.name) })),
    ...(caps.models.length > 0 ? [{ kind: 'inference' as const }] : [])
  ]
  return [...new Set(keys.map(capabilityKey))]
}

export function createCapsService (init: CapsServiceInit): CapsService {
  const { node } = init
  const ttlMs = init.ttlMs ?? DEFAULT_RECORD_TTL_MS
  let record: Uint8Array | undefined
  let seq = 0
  let timer: NodeJS.Timeout | undefined
  let controller: AbortController | undefined
  let publishing: Promise<void> = Promise.resolve()
  let announcing: Promise<void> = Promise.resolve()
  let current = init.capabilities
  let signing: Promise<void> = Promise.resolve()

  /** Signs what is advertised now; one signing at a time, so a later one never loses to an earlier. */
  const resign = async (): Promise<void> => {
    const next = signing.then(async () => {
      // Sequence numbers grow across restarts too: wall-clock milliseconds.
      seq = Math.max(seq + 1, Date.now())
      record = await signCapabilityRecord(init.privateKey, current, { ttlMs, seq })
    })
    signing = next.catch(() => {})
    await next
  }

  const announce = async (keys: string[], signal: AbortSignal): Promise<void> => {
    for (const key of keys) {
      try {
        await node.libp2p.contentRouting.provide(await capabilityCid(key), { signal })
      } catch (err) {
        if (signal.aborted) return
        // A lonely or partitioned DHT fails to provide; keep serving and try again next round.
        log.error('could not announce %s: %e', key, err)
      }
    }
  }

  const publish = async (signal: AbortSignal): Promise<void> => {
    await resign()
    await announce(advertisedKeys(current), signal)
  }

  const fetch = async (peer: PeerId, options: { signal?: AbortSignal } = {}): Promise<CapabilityRecordInfo> => {
    const signal = AbortSignal.any([AbortSignal.timeout(CAPS_FETCH_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
    const stream = await node.libp2p.dialProtocol(peer, CAPS_PROTOCOL, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_CAPABILITY_RECORD_BYTES })
      const bytes = await lp.read({ signal })
      await stream.close({ signal })
      return await openCapabilityRecord(bytes.subarray(), { expectedPeer: peer })
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  return {
    keys: () => advertisedKeys(current),
    capabilities: () => current,
    fetch,
    async update (capabilities, options = {}) {
      options.signal?.throwIfAborted()
      const before = new Set(advertisedKeys(current))
      current = capabilities
      // Not started (or stopped): start() signs what is current then.
      if (controller === undefined || controller.signal.aborted) return
      const signal = controller.signal
      await resign()
      const added = advertisedKeys(current).filter(k => !before.has(k))
      log('advertising %d model(s) now; %d new key(s)', current.models.length, added.length)
      if (added.length > 0) announcing = announcing.then(async () => { await announce(added, signal) })
    },
    async start () {
      controller = new AbortController()
      const signal = controller.signal
      await node.libp2p.handle(CAPS_PROTOCOL, async (stream) => {
        try {
          const lp = lpStream(stream)
          if (record !== undefined) await lp.write(record, { signal: AbortSignal.timeout(CAPS_FETCH_TIMEOUT_MS) })
          await stream.close()
        } catch (err) {
          stream.abort(err as Error)
        }
      })
      await resign()
      const round = (): void => {
        publishing = publish(signal).finally(() => {
          if (!signal.aborted) timer = setTimeout(round, ttlMs / 2)
        })
      }
      round()
    },
    async stop () {
      controller?.abort()
      clearTimeout(timer)
      // An announcement under way writes to the datastore: let it finish before the node closes it.
      await publishing.catch(() => {})
      await announcing.catch(() => {})
      await node.libp2p.unhandle(CAPS_PROTOCOL)
    },
    async discover (cap, options = {}) {
      const limit = options.limit ?? MAX_DISCOVERED_PROVIDERS
      // Our own controller: breaking out of the provider loop does not end the DHT query, aborting does.
      const query = new AbortController()
      const signal = AbortSignal.any([query.signal, AbortSignal.timeout(DEFAULT_DISCOVERY_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
      const found: CapabilityRecordInfo[] = []
      const seen = new Set<string>()
      const fetches: Array<Promise<void>> = []
      try {
        for await (const provider of node.libp2p.contentRouting.findProviders(await capabilityCid(capabilityKey(cap)), { signal })) {
          const id = provider.id.toString()
          if (seen.has(id)) continue
          seen.add(id)
          if (provider.id.equals(node.peerId)) continue
          fetches.push(fetch(provider.id, { signal }).then((info) => { if (found.length < limit) found.push(info) }, (err: unknown) => {
            log('skipping provider %s: %e', id, err)
          }))
          if (seen.size >= limit * 2) break
        }
      } catch (err) {
        if (options.signal?.aborted === true) throw err
        // The query ending without more peers (or timing out) is not an error: return what was found.
        log('provider query ended: %e', err)
      } finally {
        await Promise.allSettled(fetches)
        query.abort()
      }
      return found
    }
  }
}
