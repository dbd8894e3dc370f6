/**
 * The clawnode CLI: global flags, lazy command loading (so `--help` stays fast), and the mapping of
 * errors to exit codes. Commands live in `commands/`, one file each.
 */
import { resolveDataDir } from '../data-dir.ts'
import { clawnodeVersion } from '../version.ts'
import { CancelledError, EXIT, UsageError, reportError } from './errors.ts'
import type { CliContext } from './context.ts'

export interface Command {
  summary: string
  usage: string
  run: (ctx: CliContext, args: string[]) => Promise<number>
}

const COMMANDS: Record<string, { summary: string, load: () => Promise<{ command: Command }> }> = {
  start: { summary: 'Run a provider node: join the network, advertise, answer and run leases, until Ctrl-C', load: async () => await import('./commands/start.ts') },
  lease: { summary: 'Buy a container job or inference on the network and stream its result; --serve for an OpenAI-compatible endpoint', load: async () => await import('./commands/lease.ts') },
  bootstrap: { summary: 'Run a bootstrap node: DHT server, circuit relay and STUN for peers behind NAT, until Ctrl-C', load: async () => await import('./commands/bootstrap.ts') },
  status: { summary: 'Show the running node\'s peer id, addresses, peers and jobs', load: async () => await import('./commands/status.ts') },
  peers: { summary: 'List the peers the running node is connected to', load: async () => await import('./commands/peers.ts') },
  id: { summary: 'Print this node\'s peer id (the key is made on first use)', load: async () => await import('./commands/id.ts') },
  caps: { summary: 'Show what this node advertises, and under which DHT keys', load: async () => await import('./commands/caps.ts') },
  run: { summary: 'Run a job spec in the local gVisor sandbox and stream its output', load: async () => await import('./commands/run.ts') },
  wallet: { summary: 'The settlement address, balances and escrow deposits (open, top up, extend, close); the local faucet; key export', load: async () => await import('./commands/wallet.ts') },
  ledger: { summary: 'The ledgers: last entries, batches and their on-chain anchors, totals; verify <seq> proves an entry against its anchored root', load: async () => await import('./commands/ledger.ts') },
  images: { summary: 'Import image archives and manage the image allowlist', load: async () => await import('./commands/images.ts') },
  doctor: { summary: 'Check Docker, gVisor, the data dir and more, with the fix for each problem', load: async () => await import('./commands/doctor.ts') }
}

function help (): string {
  const names = Object.keys(COMMANDS)
  const width = Math.max(...names.map(n => n.length))
  return [
    'clawnode: a peer-to-peer compute node (providers, consumers, bootstrap operators)',
    '',
    'Usage: clawnode <command> [options]',
    '',
    'Commands:',
    ...names.map(n => `  ${n.padEnd(width)}  ${COMMANDS[n]?.summary ?? ''}`),
    '',
    'Options for every command:',
    '  --data <dir>   data dir (default: $CLAWNODE_HOME, else ~/.clawnode)',
    '  --json         machine-readable output on stdout',
    '  -h, --help     help for the command',
    '  --version      print the version',
    '',
    'Run `clawnode <command> --help` for a command\'s options. Logs: DEBUG=clawnode:*',
    ''
  ].join('\n')
}

export async function main (argv: string[]): Promise<number> {
  const stdout = (t: string): void => { process.stdout.write(t) }
  const stderr = (t: string): void => { process.stderr.write(t) }
  const json = argv.includes('--json')
  try {
    const first = argv[0]
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      stdout(help())
      return EXIT.ok
    }
    if (first === '--version' || first === '-v') {
      stdout(json ? JSON.stringify({ version: clawnodeVersion() }) + '\n' : `clawnode ${clawnodeVersion()}\n`)
      return EXIT.ok
    }
    const entry = COMMANDS[first]
    if (entry === undefined) throw new UsageError(`Unknown command "${first}"`, `The commands are: ${Object.keys(COMMANDS).join(', ')}. Run \`clawnode --help\`.`)
    const args = argv.slice(1)
    const { command } = await entry.load()
    if (args.includes('--help') || args.includes('-h')) {
      stdout(`${command.summary}\n\nUsage: ${command.usage}\n`)
      return EXIT.ok
    }
    const controller = new AbortController()
    let interruptedBy = ''
    const onSignal = (sig: NodeJS.Signals): void => {
      if (controller.signal.aborted) process.exit(EXIT.cancelled)
      interruptedBy = sig
      stderr(`\n${sig}: cancelling (press Ctrl-C again to quit at once)\n`)
      controller.abort(new Error(`interrupted by ${sig}`))
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    try {
      const ctx: CliContext = { dataDir: resolveDataDir(dataFlag(args)), json, stdout, stderr, signal: controller.signal }
      return await command.run(ctx, args)
    } catch (err) {
      // Whatever a cancelled command failed with, the cause was the interruption.
      if (controller.signal.aborted) throw new CancelledError(interruptedBy, err)
      throw err
    } finally {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  } catch (err) {
    return reportError(err, { json, stdout, stderr })
  }
}

function dataFlag (args: string[]): string | undefined {
  const i = args.indexOf('--data')
  if (i >= 0) return args[i + 1]
  const eq = args.find(a => a.startsWith('--data='))
  return eq?.slice('--data='.length)
}
