/**
 * Capability keys: what a provider advertises in the DHT, as provider records under CIDs derived from
 * readable keys (`/clawnode/cap/1/runtime/gvisor`, `/clawnode/cap/1/image/<id>`,
 * `/clawnode/cap/1/family/llama`, …). Pure.
 */
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'

export const CAP_KEY_PREFIX = '/clawnode/cap/1'

export type CapabilityKey =
  | { kind: 'runtime', runtime: string }
  | { kind: 'image', image: string }
  | { kind: 'model', model: string }
  | { kind: 'family', family: string }
  | { kind: 'gpu', gpuClass: string }
  | { kind: 'inference' }

export function capabilityKey (cap: CapabilityKey): string {
  switch (cap.kind) {
    case 'runtime': return `${CAP_KEY_PREFIX}/runtime/${cap.runtime}`
    case 'image': return `${CAP_KEY_PREFIX}/image/${cap.image}`
    case 'model': return `${CAP_KEY_PREFIX}/model/${cap.model}`
    case 'family': return `${CAP_KEY_PREFIX}/family/${cap.family}`
    case 'gpu': return `${CAP_KEY_PREFIX}/gpu/${cap.gpuClass}`
    case 'inference': return `${CAP_KEY_PREFIX}/inference`
  }
}

const MAX_GPU_CLASS_LENGTH = 64

/**
 * The class a GPU is advertised under, from its device name: lowercase, each run of other characters
 * than a-z and 0-9 one '-', none at either end ("NVIDIA GeForce RTX 4090" → "nvidia-geforce-rtx-4090").
 */
export function gpuClass (deviceName: string): string {
  const c = deviceName.toLowerCase().replace(/[^a-z0-9]+/g, '-').slice(0, MAX_GPU_CLASS_LENGTH).replace(/^-+|-+$/g, '')
  return c === '' ? 'unknown' : c
}

/** The CID a capability key is provided under: raw codec, sha2-256 of the key's UTF-8 bytes. */
export async function capabilityCid (key: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(key)))
}
