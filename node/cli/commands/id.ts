import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ensureDataDir } from '../../data-dir.ts'
import { loadOrCreatePeerKey, peerKeyPath } from '../../identity.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT } from '../errors.ts'
import type { Command } from '../main.ts'

export const command: Command = {
  summary: 'Print this node\'s peer id (its Ed25519 key is generated locally on first use, mode 0600)',
  usage: 'clawnode id [--json] [--data <dir>]',
  async run (ctx, args) {
    parseCommandArgs(args, {})
    await ensureDataDir(ctx.dataDir)
    const peerId = peerIdFromPrivateKey(await loadOrCreatePeerKey(ctx.dataDir)).toString()
    ctx.stdout(ctx.json ? JSON.stringify({ peerId, keyFile: peerKeyPath(ctx.dataDir) }) + '\n' : `${peerId}\n`)
    return EXIT.ok
  }
}
