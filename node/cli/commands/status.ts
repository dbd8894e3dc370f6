import { controlRequest } from '../../control.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT } from '../errors.ts'
import type { Command } from '../main.ts'

/** A provider (`clawnode start`) reports jobs; a bootstrap node relay reservations and STUN answers. */
interface StatusReply { peerId: string, addrs: string[], peers: number, jobsRunning?: number, jobsDone?: number, reservations?: unknown[], stun?: { urls: string[], answered: number } }

export const command: Command = {
  summary: 'Show the running node\'s peer id, addresses, peers and jobs',
  usage: 'clawnode status [--json] [--data <dir>]',
  async run (ctx, args) {
    parseCommandArgs(args, {})
    const reply = await controlRequest(ctx.dataDir, '/status') as StatusReply
    if (ctx.json) ctx.stdout(JSON.stringify(reply, null, 2) + '\n')
    else {
      ctx.stdout([
        `node ${reply.peerId}`,
        ...reply.addrs.map(a => `  listening on ${a}`),
        [
          `  peers ${reply.peers}`,
          ...(reply.jobsRunning === undefined ? [] : [`jobs running ${reply.jobsRunning}`, `jobs done ${reply.jobsDone ?? 0}`]),
          ...(reply.reservations === undefined ? [] : [`relay reservations ${reply.reservations.length}`]),
          ...(reply.stun === undefined ? [] : [`STUN answers ${reply.stun.answered}`])
        ].join(' · '),
        ''
      ].join('\n'))
    }
    return EXIT.ok
  }
}
