import { open } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createCapsService } from '../../caps-service.ts'
import { loadConfig } from '../../config.ts'
import { createConsumer } from '../../consumer-service.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { loadOrCreatePeerKey } from '../../identity.ts'
import { createClawNode } from '../../libp2p.ts'
import { clawnodeVersion } from '../../version.ts'
import { MAX_SPEC_BYTES } from '../../../sandbox/index.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT, UsageError } from '../errors.ts'
import type { ExplainEntry } from '../../consumer-service.ts'
import type { NetworkConfig } from '../../config.ts'
import type { Command } from '../main.ts'

const STATUS_EXIT: Record<string, number> = { succeeded: EXIT.ok, failed: EXIT.failure, timeout: EXIT.timeout, cancelled: EXIT.cancelled }
/** How long a short-lived consumer keeps looking for providers while it joins the DHT. */
const DISCOVERY_WINDOW_MS = 20_000
const DEFAULT_MAX_PRICE = 1_000_000

export const command: Command = {
  summary: 'Buy a container job on the network: find providers, take the best bid, stream the result, verify the receipt',
  usage: 'clawnode lease --image <image-id> [options] -- <cmd> [args…]\n' +
    '       clawnode lease --spec <job.json> [options]\n\n' +
    'Options: --bootstrap <multiaddr>… (else the config\'s), --max-price <millicredits> (default 1000000),\n' +
    '         --out <dir> (artifacts; default <data>/leases/<time>), --explain (each provider\'s fate), --json',
  async run (ctx, args) {
    const { values, positionals } = parseCommandArgs(args, {
      image: { type: 'string' },
      spec: { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      'max-price': { type: 'string' },
      out: { type: 'string' },
      explain: { type: 'boolean' }
    })
    let spec: unknown
    if (values.spec !== undefined) {
      const fh = await open(values.spec, 'r')
      try {
        const stats = await fh.stat()
        if (!stats.isFile() || stats.size > MAX_SPEC_BYTES) throw new UsageError(`${values.spec} is not a job spec file of at most ${MAX_SPEC_BYTES} bytes`)
        spec = JSON.parse(await fh.readFile('utf8'))
      } finally { await fh.close() }
    } else {
      if (values.image === undefined || positionals.length === 0) throw new UsageError('lease needs --image <image-id> and a command after --, or --spec <job.json>', 'Try: clawnode lease --image sha256:… -- echo hello')
      spec = { version: 1, image: values.image, argv: positionals }
    }
    const maxPrice = values['max-price'] === undefined ? DEFAULT_MAX_PRICE : Number(values['max-price'])
    if (!Number.isSafeInteger(maxPrice) || maxPrice < 0) throw new UsageError('--max-price must be a whole number of millicredits')
    await ensureDataDir(ctx.dataDir)
    const config = await loadConfig(ctx.dataDir)
    const network: NetworkConfig = { ...config.network, ...(values.bootstrap === undefined ? {} : { bootstrap: values.bootstrap }) }
    const artifactsDir = resolve(values.out ?? join(ctx.dataDir, 'leases', new Date().toISOString().replace(/[:.]/g, '-')))

    // A short-lived consumer node with this data dir's identity; it advertises nothing.
    const node = await createClawNode({ dataDir: ctx.dataDir, network })
    const privateKey = await loadOrCreatePeerKey(ctx.dataDir)
    const caps = createCapsService({ node, privateKey, capabilities: { clawnodeVersion: clawnodeVersion(), cpuCores: 0, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: [], prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 0, perGbSecond: 0 }, maxConcurrentJobs: 0 } })
    const explain: ExplainEntry[] = []
    try {
      await node.start()
      await caps.start()
      if (!ctx.json) ctx.stderr(`▸ consumer ${node.peerId.toString()} looking for providers…\n`)
      const consumer = createConsumer({ node, privateKey, caps })
      const image = (spec as { image?: unknown }).image
      // Right after start the DHT is still filling: keep looking for a while before giving up.
      const deadline = Date.now() + DISCOVERY_WINDOW_MS
      while (typeof image === 'string' && Date.now() < deadline) {
        const found = await caps.discover({ kind: 'image', image }, { signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(5_000)]), limit: 1 })
        if (found.length > 0) break
        await new Promise(resolve => setTimeout(resolve, 300))
      }
      const result = await consumer.lease(spec, {
        maxPrice,
        artifactsDir,
        signal: ctx.signal,
        onExplain: (e) => { explain.push(e); if (values.explain === true && !ctx.json) ctx.stderr(`  ${e.fate.padEnd(11)} ${e.peer}  ${e.detail}\n`) },
        ...(ctx.json ? {} : { onOutput: (stream, data) => { (stream === 'stdout' ? process.stdout : process.stderr).write(data) } })
      })
      const r = result.receipt
      if (ctx.json) {
        ctx.stdout(JSON.stringify({ provider: result.provider.toString(), status: r.status, usage: r.usage, price: r.price, artifacts: result.artifacts, artifactsDir, ...(values.explain === true ? { explain } : {}) }, null, 2) + '\n')
      } else {
        ctx.stderr([
          '',
          `${r.status === 'succeeded' ? '✓' : '✗'} ${r.status} on ${result.provider.toString()} (receipt verified and countersigned)`,
          `  usage: wall ${r.usage.wallMs} ms, cpu ${r.usage.cpuMs} ms, exit code ${r.usage.exitCode ?? 'none'}; charged ${r.price} millicredits`,
          ...result.artifacts.map(a => `  artifact ${join(artifactsDir, a.path)} sha256:${a.sha256}`),
          ''
        ].join('\n'))
      }
      return STATUS_EXIT[r.status] ?? EXIT.failure
    } catch (err) {
      if (values.explain === true && ctx.json) ctx.stdout(JSON.stringify({ explain }, null, 2) + '\n')
      throw err
    } finally {
      await caps.stop().catch(() => {})
      await node.stop().catch(() => {})
    }
  }
}
