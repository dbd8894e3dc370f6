import { isAbsolute } from 'node:path'
import { logger } from '@libp2p/logger'
import { createCapsService } from '../../caps-service.ts'
import { createProviderService } from '../../provider-service.ts'
import { openNodeSettlement } from '../../node-settlement.ts'
import { startControlServer } from '../../control.ts'
import type { ControlServer } from '../../control.ts'
import { detectCapabilities } from '../../capabilities.ts'
import { loadConfig, runnerInit } from '../../config.ts'
import type { GatewayConfig } from '../../config.ts'
import { LEASE_DISCOVERY_WINDOW_MS, STATUS_INTERVAL_MS } from '../../constants.ts'
import { createConsumer } from '../../consumer-service.ts'
import { leaseSummary } from '../../lease-summary.ts'
import type { ExplainEntry, InferenceRequest } from '../../consumer-service.ts'
import { createModelHost, modelMemoryBudget } from '../../model-host.ts'
import { createNetworkBackend } from '../../gateway-backend.ts'
import { gatewayBackend } from '../../gateway-local.ts'
import { gatewayTokenPath, startGateway } from '../../gateway.ts'
import type { Gateway } from '../../gateway.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { loadOrCreatePeerKey } from '../../identity.ts'
import { createClawNode } from '../../libp2p.ts'
import { createSandboxRunner, openProbeStore, scanModels } from '../../../sandbox/index.ts'
import type { ModelProbeFailedError } from '../../../sandbox/index.ts'
import { serializeError } from '../../../protocol/index.ts'
import { eventWriter, parseCommandArgs, untilAborted } from '../context.ts'
import { EXIT, UsageError } from '../errors.ts'
import { NETWORK_OPTIONS, networkFromFlags } from '../network-flags.ts'
import type { Command } from '../main.ts'
import { notOfferedModels } from './caps.ts'

const log = logger('clawnode:start')

export const command: Command = {
  summary: 'Run a provider node: join the network, advertise capabilities, answer and run leases, until Ctrl-C',
  usage: 'clawnode start [--bootstrap <multiaddr>]… [--listen <multiaddr>]… [--dht-mode server|client|auto]\n' +
    '                      [--address-policy loopback|test-net|any] [--gateway <port> [--local-fallback <model-id>]] [--json] [--data <dir>]\n\n' +
    '--gateway serves the OpenAI-compatible endpoint on 127.0.0.1:<port> (0: any free port), backed by this node;\n' +
    '--local-fallback (or the config\'s gateway.localFallback) answers from this node\'s own model when the network has no provider;\n' +
    'the config\'s gateway.maxRequestPrice and gateway.dailyBudget (millicredits) bound what the gateway spends.\n' +
    'Flags override the config file\'s network section. With --json, events are JSON lines on stdout.',
  async run (ctx, args) {
    const { values } = parseCommandArgs(args, { ...NETWORK_OPTIONS, gateway: { type: 'string' }, 'local-fallback': { type: 'string' } })
    if (values['local-fallback'] !== undefined && values.gateway === undefined) throw new UsageError('--local-fallback goes with --gateway')
    const gatewayPort = values.gateway === undefined ? undefined : Number(values.gateway)
    if (gatewayPort !== undefined && (!Number.isInteger(gatewayPort) || gatewayPort < 0 || gatewayPort > 65535)) throw new UsageError('--gateway takes a port, 0..65535 (0: any free port)')
    await ensureDataDir(ctx.dataDir)
    const config = await loadConfig(ctx.dataDir)
    const network = networkFromFlags(config.network, values)
    const emit = eventWriter(ctx)

    const runner = createSandboxRunner(runnerInit(ctx.dataDir, config.sandbox, { pool: true }))
    if (runner.runtime === 'runc') ctx.stderr('⚠ WARNING: sandbox.runtime is runc: leased jobs run WITHOUT the gVisor sandbox. Only do this for code you trust.\n')
    const node = await createClawNode({ dataDir: ctx.dataDir, network, ...(config.provider.recordTtlMs === undefined ? {} : { recordTtlMs: config.provider.recordTtlMs }) })
    // Models: every good GGUF file in <data>/models; broken ones are reported and never advertised.
    const registry = await scanModels(ctx.dataDir, config.provider.models ?? [])
    for (const b of registry.broken) ctx.stderr(`⚠ model ${b.id} is not offered: ${b.error.message}\n  → ${b.error.hint}\n`)
    // Loaded on first use, within provider.modelMemoryMb; a model larger than that alone is not offered.
    // Each is probed (loaded, one token decoded) before it is advertised, unless a kept result says
    // how its file fared; one that fails later is withdrawn from the record (`withdrawn`, below).
    let withdrawn: ((id: string, error: ModelProbeFailedError) => void) | undefined
    const models = registry.models.length === 0 ? undefined : createModelHost(registry.models, { memoryBytes: modelMemoryBudget(config.provider), probes: await openProbeStore(ctx.dataDir), onWithdraw: (id, error) => { withdrawn?.(id, error) }, ...(config.provider.modelThreads === undefined ? {} : { threads: config.provider.modelThreads }) })
    for (const r of models?.refused() ?? []) ctx.stderr(`⚠ model ${r.id} is not offered: ${r.error.message}\n  → ${r.error.hint}\n`)
    await models?.probe({ signal: ctx.signal }).catch(async (err: unknown) => { await models.close(); throw err })
    for (const b of models?.broken() ?? []) ctx.stderr(`⚠ model ${b.id} is not offered: ${b.error.message}\n  → ${b.error.hint}\n`)
    const privateKey = await loadOrCreatePeerKey(ctx.dataDir)
    // The chain (the machine's local one by default), the ledgers, escrow payment and anchoring.
    const settlement = await openNodeSettlement({
      dataDir: ctx.dataDir,
      config,
      privateKey,
      provider: true,
      onAnchor: (e) => {
        if (e.type === 'clawnode:anchor:anchored') emit('anchored', { fromSeq: e.detail.batch.fromSeq, toSeq: e.detail.batch.toSeq, txHash: e.detail.txHash, block: e.detail.block }, `▸ ledger batch ${e.detail.batch.fromSeq}..${e.detail.batch.toSeq} anchored in block ${e.detail.block} (${e.detail.txHash})\n`)
        else if (e.type === 'clawnode:anchor:unreachable') emit('chain-unreachable', { failures: e.detail.failures, retryAt: e.detail.retryAt }, `⚠ the chain does not answer (${e.detail.error.message}); the node serves on and anchors later\n`)
      }
    }, { signal: ctx.signal })
    let caps = { ...await detectCapabilities(ctx.dataDir, config, models?.offered() ?? []), ...(settlement.recordInfo === undefined ? {} : { settlement: settlement.recordInfo }) }
    const service = createCapsService({ node, privateKey, capabilities: caps, ...(config.provider.recordTtlMs === undefined ? {} : { ttlMs: config.provider.recordTtlMs }) })
    withdrawn = (id, error) => {
      caps = { ...caps, models: caps.models.filter(m => m.id !== id) }
      emit('model-withdrawn', { model: id, error: serializeError(error) }, `⚠ model ${id} is no longer offered: ${error.message}\n  → ${error.hint}\n`)
      service.update(caps).catch((err: unknown) => { log.error('could not republish the capability record: %e', err) })
    }
    const consumer = createConsumer({ node, privateKey, caps: service, ledger: settlement.consumerLedger, ...(settlement.consumer === undefined ? {} : { settlement: settlement.consumer }) })
    const provider = createProviderService({ node, privateKey, runner, ...(settlement.providerLedger === undefined ? {} : { ledger: settlement.providerLedger }), ...(settlement.provider === undefined ? {} : { settlement: settlement.provider }), dataDir: ctx.dataDir, prices: caps.prices, maxConcurrentJobs: caps.maxConcurrentJobs, ...(config.sandbox.maxLimits === undefined ? {} : { jobPolicy: { maxLimits: config.sandbox.maxLimits } }), ...(config.provider.memoryReserveMb === undefined ? {} : { memoryReserveBytes: config.provider.memoryReserveMb * 1024 * 1024 }), ...(models === undefined ? {} : { models }), ...(config.provider.usageTickTokens === undefined ? {} : { usageTickTokens: config.provider.usageTickTokens }) })
    let status: NodeJS.Timeout | undefined
    let control: ControlServer | undefined
    let gateway: Gateway | undefined
    try {
      await runner.start({ signal: ctx.signal })
      settlement.start()
      await node.start()
      await provider.start()
      await service.start()
      control = await startControlServer(ctx.dataDir, {
        '/status': () => ({ peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String), peers: node.libp2p.getPeers().length, jobsRunning: provider.running, jobsDone: provider.done }),
        '/peers': () => ({ peers: node.libp2p.getConnections().map(c => ({ peerId: c.remotePeer.toString(), addrs: [String(c.remoteAddr)] })) }),
        // Every model in <data>/models not advertised, with why: what `clawnode caps` prints offline too.
        '/caps': () => ({ capabilities: service.capabilities(), keys: service.keys(), notOffered: notOfferedModels({ broken: registry.broken, failed: models?.broken() ?? [], refused: models?.refused() ?? [] }) })
      }, {
        // `clawnode lease` from the same user: the node's consumer leases; events stream back.
        '/lease': async (body, io) => {
          const request = parseLeaseRequest(body)
          const options = {
            maxPrice: request.maxPrice,
            artifactsDir: request.artifactsDir,
            signal: AbortSignal.any([io.signal, ctx.signal]),
            discoveryWindowMs: LEASE_DISCOVERY_WINDOW_MS,
            onExplain: (e: ExplainEntry) => { io.send({ type: 'explain', ...e }) },
            onOutput: (stream: 'stdout' | 'stderr', data: Uint8Array) => { io.send({ type: 'output', stream, data: Buffer.from(data).toString('base64') }) }
          }
          const result = request.inference !== undefined ? await consumer.leaseInference(request.inference, options) : await consumer.lease(request.spec, options)
          return leaseSummary(result, request.artifactsDir)
        }
      })
      // The OpenAI-compatible gateway of this node, when asked for: its requests are this node's leases.
      // Behind the network, optionally, one of this node's own models (the local fallback).
      if (gatewayPort !== undefined) gateway = await startGateway({ backend: gatewayBackend(createNetworkBackend({ consumer, caps: service, discoveryWindowMs: LEASE_DISCOVERY_WINDOW_MS }), { models, model: values['local-fallback'] ?? config.gateway?.localFallback }), dataDir: ctx.dataDir, port: gatewayPort, ...gatewaySpending(config.gateway) })
      const addrs = node.getMultiaddrs().map(String)
      emit('started', { peerId: node.peerId.toString(), addrs, capabilities: caps, keys: service.keys(), ...(gateway === undefined ? {} : { gateway: `${gateway.url}/v1`, gatewayTokenFile: gatewayTokenPath(ctx.dataDir) }), settlement: settlement.chain === undefined ? null : { address: settlement.chain.account.address, chainId: settlement.chain.deployment.chainId, rpcUrl: settlement.chain.rpcUrl, escrow: settlement.chain.deployment.usageEscrow } }, [
        `✓ clawnode provider ${node.peerId.toString()}`,
        ...addrs.map(a => `  listening on ${a}`),
        ...(gateway === undefined ? [] : [`  OpenAI-compatible endpoint ${gateway.url}/v1 (API key in ${gatewayTokenPath(ctx.dataDir)})`]),
        settlement.chain === undefined ? '  settlement off (chain.mode "off"): leases are unpaid, nothing is anchored' : `  settles as ${settlement.chain.account.address} on chain ${settlement.chain.deployment.chainId} (${settlement.chain.local ? 'local ' : ''}${settlement.chain.rpcUrl}); \`clawnode wallet\`, \`clawnode ledger\``,
        `  offers ${caps.runtimes.join(', ')} with ${caps.images.length} allowed image(s), ${caps.models.length === 0 ? 'no models' : `models ${caps.models.map(m => m.id).join(', ')}`}, ${caps.cpuCores} CPU cores, up to ${caps.maxConcurrentJobs} jobs at once`,
        '  Ctrl-C to stop',
        ''
      ].join('\n'))
      status = setInterval(() => {
        const peers = node.libp2p.getPeers().length
        emit('status', { peers, jobsRunning: provider.running, jobsDone: provider.done }, `▸ peers ${peers} · jobs running ${provider.running} · jobs done ${provider.done}\n`)
      }, STATUS_INTERVAL_MS)
      await untilAborted(ctx.signal)
    } finally {
      clearInterval(status)
      await gateway?.close().catch((err: unknown) => { log.error('%e', err) })
      await control?.close().catch((err: unknown) => { log.error('%e', err) })
      // Stop advertising first; then cancel running jobs (their consumers get a 'cancelled' receipt),
      // then close the lease streams, then leave the network.
      await service.stop().catch((err: unknown) => { log.error('%e', err) })
      await runner.stop().catch((err: unknown) => { log.error('%e', err) })
      await provider.stop().catch((err: unknown) => { log.error('%e', err) })
      await models?.close().catch((err: unknown) => { log.error('%e', err) })
      await node.stop().catch((err: unknown) => { log.error('%e', err) })
      // The last batch is anchored, the ledgers closed, then the chain stops if this node started it.
      await settlement.close()
    }
    emit('stopped', {}, '✓ stopped\n')
    return EXIT.ok
  }
}

/** The body of a control `/lease` request, checked: the node acts on it for whoever holds the socket. */
function parseLeaseRequest (body: unknown): { spec: unknown, inference?: InferenceRequest, maxPrice: number, artifactsDir: string } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>
  const hasSpec = typeof b.spec === 'object' && b.spec !== null
  const hasInference = typeof b.inference === 'object' && b.inference !== null
  if (hasSpec === hasInference) throw new UsageError('the lease request needs a job spec or an inference request')
  if (typeof b.maxPrice !== 'number' || !Number.isSafeInteger(b.maxPrice) || b.maxPrice < 0) throw new UsageError('the lease request\'s maxPrice must be a whole number of millicredits')
  if (typeof b.artifactsDir !== 'string' || !isAbsolute(b.artifactsDir)) throw new UsageError('the lease request\'s artifactsDir must be an absolute path')
  // (The inference request's fields are checked where its payload is built: encodeInferencePayload.)
  return { spec: b.spec, ...(hasInference ? { inference: b.inference as InferenceRequest } : {}), maxPrice: b.maxPrice, artifactsDir: b.artifactsDir }
}

/** The config's spending controls for the gateway (its defaults where the config says nothing). */
function gatewaySpending (config: GatewayConfig = {}): { maxRequestPriceMillicredits?: number, dailyBudgetMillicredits?: number } {
  return {
    ...(config.maxRequestPrice === undefined ? {} : { maxRequestPriceMillicredits: config.maxRequestPrice }),
    ...(config.dailyBudget === undefined ? {} : { dailyBudgetMillicredits: config.dailyBudget })
  }
}
