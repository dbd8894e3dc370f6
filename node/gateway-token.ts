/**
 * The gateway's bearer token: made once from crypto randomness into `<data>/gateway.token` (mode
 * 0600), reused on every start, and checked in constant time. Anyone holding it spends this user's
 * credits, so only the user's own tools should read it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { chmod, open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../protocol/index.ts'

const log = logger('clawnode:gateway')

export const GATEWAY_TOKEN_FILE = 'gateway.token'
/** `sk-` because some OpenAI tools insist on it; 32 random bytes in base64url after the prefix. */
const TOKEN_PREFIX = 'sk-clawnode-'
const TOKEN_PATTERN = /^sk-clawnode-[A-Za-z0-9_-]{43}$/
/** Largest token file read: the token, a newline, and room for stray whitespace. */
const MAX_TOKEN_FILE_BYTES = 256

export class GatewayTokenError extends ClawnodeError {
  static override name = 'GatewayTokenError'
  constructor (path: string, problem: string, options: { cause?: unknown } = {}) {
    super(`The gateway token ${path} ${problem}`, { ...options, hint: `Delete ${path} to make a new token (tools using the old one must then be given the new one).` })
  }
}

export function gatewayTokenPath (dataDir: string): string {
  return join(dataDir, GATEWAY_TOKEN_FILE)
}

/** The data dir's gateway token, made on first use. The data dir must exist. */
export async function loadOrCreateGatewayToken (dataDir: string): Promise<string> {
  const path = gatewayTokenPath(dataDir)
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url')
  try {
    // 'wx': never overwrite a token another process just wrote, nor one tools already use.
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' })
    log('made a new gateway token in %s', path)
    return token
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new GatewayTokenError(path, 'cannot be written', { cause: err })
  }
  let text: string
  try {
    const fh = await open(path, 'r')
    try {
      const stats = await fh.stat()
      if (!stats.isFile() || stats.size > MAX_TOKEN_FILE_BYTES) throw new GatewayTokenError(path, `is not a file of at most ${MAX_TOKEN_FILE_BYTES} bytes`)
      if ((stats.mode & 0o077) !== 0) {
        log.error('%s was readable by others; setting it to 0600', path)
        await chmod(path, 0o600)
      }
      text = (await fh.readFile('utf8')).trim()
    } finally { await fh.close() }
  } catch (err) {
    throw err instanceof GatewayTokenError ? err : new GatewayTokenError(path, 'cannot be read', { cause: err })
  }
  if (!TOKEN_PATTERN.test(text)) throw new GatewayTokenError(path, 'does not hold a clawnode gateway token')
  return text
}

/**
 * Whether an `Authorization` header carries `Bearer <token>`. Both sides are hashed first, so the
 * comparison takes the same time whatever the length or content of the guess.
 */
export function bearerMatches (header: string | undefined, token: string): boolean {
  const match = /^Bearer +(\S+) *$/i.exec(header ?? '')
  const given = createHash('sha256').update(match?.[1] ?? '').digest()
  const expected = createHash('sha256').update(token).digest()
  return timingSafeEqual(given, expected) && match !== null
}
