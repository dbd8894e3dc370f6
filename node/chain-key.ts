/**
 * The settlement key named by `chain.key` in the config: a key file (mode 0600) or an environment
 * variable, so that a node on a shared remote chain signs with an account its operator chose and
 * funded. Read once when the chain opens; the key itself is never in the config nor in an error.
 */
import { open } from 'node:fs/promises'
import { resolve } from 'node:path'
import { nonceManager } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { Hex } from 'viem'
import { ClawnodeError } from '../protocol/index.ts'
import type { SettlementAccount } from '../ledger/index.ts'
import type { ChainKeySource } from './config.ts'

/** The most bytes read from a key file (a 0x key and a newline take 67). */
export const MAX_CHAIN_KEY_FILE_BYTES = 1024

const KEY = /^(0x)?([0-9a-fA-F]{64})$/

/** chain.key names a file or variable that is missing, open to others, or holds no private key. */
export class ChainKeyError extends ClawnodeError {
  static override name = 'ChainKeyError'
  constructor (source: string, problem: string, hint: string, options: { cause?: unknown } = {}) {
    super(`chain.key: ${source} ${problem}`, { ...options, hint })
  }
}

/** The account of the key `source` names; a file path is relative to `dataDir`. */
export async function loadChainKeyAccount (dataDir: string, source: ChainKeySource): Promise<SettlementAccount> {
  if ('env' in source) {
    const what = `the environment variable ${source.env}`
    const value = process.env[source.env]
    if (value === undefined || value.trim() === '') {
      throw new ChainKeyError(what, 'is not set', `Set ${source.env} to the settlement account's 0x private key in the node's environment, or change chain.key in the config.`)
    }
    return accountOf(value, what, `${source.env} must hold a 32-byte private key as 64 hex digits (0x optional).`, `$${source.env}`)
  }
  const path = resolve(dataDir, source.file)
  const what = `the key file ${path}`
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      const st = await fh.stat()
      if (!st.isFile()) throw new ChainKeyError(what, 'is not a file', 'chain.key must name a file holding the 0x private key.')
      if ((st.mode & 0o077) !== 0) {
        throw new ChainKeyError(what, `can be read by others (mode ${(st.mode & 0o777).toString(8)})`, `Run \`chmod 600 ${path}\`: whoever reads the key can spend the account.`)
      }
      const buf = Buffer.alloc(MAX_CHAIN_KEY_FILE_BYTES + 1)
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0)
      if (bytesRead > MAX_CHAIN_KEY_FILE_BYTES) throw new ChainKeyError(what, `is larger than ${MAX_CHAIN_KEY_FILE_BYTES} bytes`, 'The file must hold only the 0x private key.')
      text = buf.subarray(0, bytesRead).toString('utf8')
    } finally {
      await fh.close()
    }
  } catch (err) {
    if (err instanceof ChainKeyError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw new ChainKeyError(what, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? (err as Error).message})`,
      'Create it with the settlement account\'s 0x private key and mode 0600, or fix chain.key in the config (a relative path is taken from the data dir).', { cause: err })
  }
  return accountOf(text, what, 'The file must hold a 32-byte private key as 64 hex digits (0x optional), and nothing else.', path)
}

function accountOf (text: string, what: string, hint: string, path: string): SettlementAccount {
  const m = KEY.exec(text.trim())
  if (m === null) throw new ChainKeyError(what, 'does not hold a private key', hint)
  let account
  try {
    // One nonce sequence per account in this process, as for the data dir's key (ledger/account.ts).
    account = privateKeyToAccount(`0x${(m[2] as string).toLowerCase()}` as Hex, { nonceManager })
  } catch (err) {
    throw new ChainKeyError(what, 'does not hold a valid secp256k1 private key', hint, { cause: err })
  }
  return { address: account.address, account, path }
}
