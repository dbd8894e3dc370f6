/**
 * The node's data dir: where runs, images allowlist, keys and config live. Chosen by `--data`, then
 * CLAWNODE_HOME, then ~/.clawnode; created private (0700).
 */
import { mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

export function resolveDataDir (flag?: string): string {
  if (flag !== undefined && flag !== '') return resolve(flag)
  const env = process.env.CLAWNODE_HOME
  if (env !== undefined && env !== '') return resolve(env)
  return join(homedir(), '.clawnode')
}

export async function ensureDataDir (dir: string): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  return dir
}
