/**
 * The node's persistent identity: an Ed25519 key in `<data>/keys/peer.key` (libp2p's protobuf key
 * encoding, mode 0600), generated locally on first start, so a restarted node keeps its peer id.
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../protocol/index.ts'
import type { PrivateKey } from '@libp2p/interface'

const log = logger('clawnode:identity')

export class IdentityError extends ClawnodeError {
  static override name = 'IdentityError'
  constructor (path: string, cause: unknown) {
    super(`The node's key ${path} cannot be read`, { cause, hint: `Restore it from a backup; or move it away to start as a new peer (a new peer id).` })
  }
}

export function peerKeyPath (dataDir: string): string {
  return join(dataDir, 'keys', 'peer.key')
}

export async function loadOrCreatePeerKey (dataDir: string): Promise<PrivateKey> {
  const path = peerKeyPath(dataDir)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new IdentityError(path, err)
    const key = await generateKeyPair('Ed25519')
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    // 'wx': never overwrite a key another process just wrote.
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
    log('generated a new peer key in %s', path)
    return key
  }
  if (((await stat(path)).mode & 0o077) !== 0) {
    log.error('%s was readable by others; setting it to 0600', path)
    await chmod(path, 0o600)
  }
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new IdentityError(path, err)
  }
}
