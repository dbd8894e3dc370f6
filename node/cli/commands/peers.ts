import { controlRequest } from '../../control.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT } from '../errors.ts'
import type { Command } from '../main.ts'

interface PeersReply { peers: Array<{ peerId: string, addrs: string[] }> }

export const command: Command = {
  summary: 'List the peers the running node (clawnode start) is connected to',
  usage: 'clawnode peers [--json] [--data <dir>]',
  async run (ctx, args) {
    parseCommandArgs(args, {})
    const reply = await controlRequest(ctx.dataDir, '/peers') as PeersReply
    if (ctx.json) ctx.stdout(JSON.stringify(reply, null, 2) + '\n')
    else ctx.stdout(reply.peers.length === 0 ? 'No peers connected.\n' : reply.peers.map(p => `${p.peerId}  ${p.addrs.join(' ')}\n`).join(''))
    return EXIT.ok
  }
}
