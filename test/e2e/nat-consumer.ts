/**
 * The consumer side of test/e2e/nat.test.ts, run as its own process inside the consumer's network
 * namespace (behind NAT B). It reaches the provider (behind NAT A) through the relay, upgrades to a
 * direct WebRTC connection, drops the relayed one, and on a line on stdin leases a job, reporting each
 * step as a JSON line on stdout: which connections it had, and whether any new one was opened during
 * the lease. Not a test file itself (uvu only runs *.test.ts).
 *
 * Usage: node nat-consumer.ts <data dir> <circuit addr> <webrtc addr> <image id> <output bytes>
 */
import { createInterface } from 'node:readline'
import { multiaddr } from '@multiformats/multiaddr'
import { createCapsService, createClawNode, createConsumer, clawnodeVersion, loadConfig, loadOrCreatePeerKey } from '../../node/index.ts'
import type { Connection } from '@libp2p/interface'

const STEP_TIMEOUT_MS = 20_000
const say = (event: string, data: Record<string, unknown> = {}): void => { process.stdout.write(JSON.stringify({ event, ...data }) + '\n') }
const describe = (c: Connection): Record<string, unknown> => ({ id: c.id, remoteAddr: c.remoteAddr.toString(), limited: c.limits !== undefined, direct: c.direct, status: c.status })

async function main (): Promise<number> {
  const [dataDir = '', circuitAddr = '', webrtcAddr = '', image = '', outputBytes = '0'] = process.argv.slice(2)

  const config = await loadConfig(dataDir)
  const node = await createClawNode({ dataDir, network: config.network })
  const privateKey = await loadOrCreatePeerKey(dataDir)
  const caps = createCapsService({ node, privateKey, capabilities: { clawnodeVersion: clawnodeVersion(), cpuCores: 0, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: [], prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 0, perGbSecond: 0 }, maxConcurrentJobs: 0 } })
  const provider = multiaddr(webrtcAddr).getComponents().filter(c => c.name === 'p2p').pop()?.value ?? ''
  const opened: string[] = []
  node.libp2p.addEventListener('connection:open', (e) => { if (e.detail.remotePeer.toString() === provider) opened.push(e.detail.remoteAddr.toString()) })
  let code = 0
  try {
    await node.start()
    await caps.start()
    say('started', { peerId: node.peerId.toString() })

    // 1. Through the relay: a limited, relayed connection.
    const startedAt = Date.now()
    const relayed = await node.libp2p.dial(multiaddr(circuitAddr), { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
    say('relayed', { connection: describe(relayed), ms: Date.now() - startedAt })

    // 2. The upgrade: WebRTC, signalled over the relayed connection, then ICE finds a direct path.
    const upgradeAt = Date.now()
    const webrtc = await node.libp2p.dial(multiaddr(webrtcAddr), { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) })
    say('webrtc', { connection: describe(webrtc), ms: Date.now() - upgradeAt })
    await relayed.close()
    say('connected', { connections: node.libp2p.getConnections().filter(c => c.remotePeer.equals(webrtc.remotePeer)).map(describe) })

    // 3. Wait for the test to say go (it inspects the provider and the routers meanwhile), then lease.
    const lines = createInterface({ input: process.stdin })
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('no go-ahead on stdin within 60 s')) }, 60_000)
      lines.once('line', () => { clearTimeout(timer); resolve() })
    })
    lines.close()
    const before = opened.length
    let out = ''
    const consumer = createConsumer({ node, privateKey, caps })
    const leasedAt = Date.now()
    const result = await consumer.lease({ version: 1, image, argv: ['sh', '-c', `echo through two NATs; head -c ${Number(outputBytes)} /dev/zero | tr '\\0' x`] }, {
      maxPrice: 1_000_000_000,
      artifactsDir: `${dataDir}/artifacts`,
      signal: AbortSignal.timeout(60_000),
      onOutput: (_stream, data) => { out += Buffer.from(data).toString() }
    })
    say('leased', {
      ms: Date.now() - leasedAt,
      provider: result.provider.toString(),
      status: result.receipt.status,
      firstLine: out.split('\n')[0],
      outputBytes: out.length,
      openedDuringLease: opened.slice(before),
      connections: node.libp2p.getConnections().filter(c => c.remotePeer.equals(result.provider)).map(describe)
    })
  } catch (err) {
    say('error', { name: (err as Error).name, message: (err as Error).message })
    code = 1
  } finally {
    await caps.stop().catch(() => {})
    await node.stop().catch(() => {})
  }
  return code
}

// Only as a program: uvu may import every file under test/ that its pattern matches.
if (import.meta.main) process.exit(await main())
