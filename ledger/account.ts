/**
 * The node's settlement account: a secp256k1 key generated locally into `<data>/keys/settlement.key`
 * (0x-hex, mode 0600, never overwritten), from which it signs EIP-712 receipts and chain transactions.
 * The address goes into the capability record, bound to the peer id (protocol/settlement.ts).
 */
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { logger } from '@libp2p/logger'
import { nonceManager } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import type { PrivateKeyAccount } from 'viem/accounts'
import type { Hex } from 'viem'
import { ClawnodeError } from '../protocol/index.ts'

const log = logger('clawnode:account')

export class SettlementKeyError extends ClawnodeError {
  static override name = 'SettlementKeyError'
  constructor (path: string, problem: string, options: { cause?: unknown } = {}) {
    super(`The settlement key ${path} ${problem}`, { ...options, hint: 'Restore it from your export (clawnode wallet export); or move it away to start with a new, empty account.' })
  }
}

export interface SettlementAccount {
  address: Hex
  /** Signs transactions and typed data locally. */
  account: PrivateKeyAccount
  /** Where the key lives. */
  path: string
}

export function settlementKeyPath (dataDir: string): string {
  return join(dataDir, 'keys', 'settlement.key')
}

const KEY = /^0x[0-9a-f]{64}$/

export async function loadOrCreateSettlementAccount (dataDir: string): Promise<SettlementAccount> {
  const path = settlementKeyPath(dataDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new SettlementKeyError(path, 'cannot be read', { cause: err })
    const key = generatePrivateKey()
    await mkdir(dirname(path), { recursive: true, mode: 0o700 })
    try {
      // 'wx': never overwrite a key another process just wrote; then read whichever won.
      await writeFile(path, key + '\n', { mode: 0o600, flag: 'wx' })
      log('generated a new settlement key in %s', path)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new SettlementKeyError(path, 'cannot be written', { cause: e })
    }
    return await loadOrCreateSettlementAccount(dataDir)
  }
  if (((await stat(path)).mode & 0o077) !== 0) {
    log.error('%s was readable by others; setting it to 0600', path)
    await chmod(path, 0o600)
  }
  const key = text.trim().toLowerCase()
  if (!KEY.test(key)) throw new SettlementKeyError(path, 'does not hold a 32-byte hex private key')
  // One nonce sequence per account in this process: the anchorer and the escrow may send at the same moment.
  const account = privateKeyToAccount(key as Hex, { nonceManager })
  return { address: account.address, account, path }
}

/** The key itself, for `clawnode wallet export` (the caller warns: whoever has it can spend the account). */
export async function exportSettlementKey (dataDir: string): Promise<Hex> {
  const path = settlementKeyPath(dataDir)
  const key = (await readFile(path, 'utf8').catch((err: unknown) => { throw new SettlementKeyError(path, 'cannot be read', { cause: err }) })).trim().toLowerCase()
  if (!KEY.test(key)) throw new SettlementKeyError(path, 'does not hold a 32-byte hex private key')
  return key as Hex
}
