import { open } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { createCapsService } from '../../caps-service.ts'
import { loadConfig } from '../../config.ts'
import { openNodeSettlement } from '../../node-settlement.ts'
import { createConsumer } from '../../consumer-service.ts'
import { leaseSummary } from '../../lease-summary.ts'
import type { InferenceRequest } from '../../consumer-service.ts'
import { MAX_INFERENCE_TOKENS } from '../../inference-request.ts'
import { MAX_MIN_CONTEXT } from '../../model-family.ts'
import { controlRequest, controlStream, NoRunningNodeError } from '../../control.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { loadOrCreatePeerKey } from '../../identity.ts'
import { LEASE_DISCOVERY_WINDOW_MS } from '../../constants.ts'
import { createClawNode } from '../../libp2p.ts'
import { clawnodeVersion } from '../../version.ts'
import { MAX_SPEC_BYTES, openProbeStore, scanModels } from '../../../sandbox/index.ts'
import { parseCommandArgs, untilAborted } from '../context.ts'
import { createNetworkBackend } from '../../gateway-backend.ts'
import { gatewayBackend, LocalFallbackBrokenError } from '../../gateway-local.ts'
import { createModelHost, modelMemoryBudget } from '../../model-host.ts'
import { DEFAULT_GATEWAY_DAILY_BUDGET, DEFAULT_GATEWAY_MAX_REQUEST_PRICE, gatewayTokenPath, startGateway } from '../../gateway.ts'
import { EXIT, UsageError } from '../errors.ts'
import type { ExplainEntry } from '../../consumer-service.ts'
import type { NetworkConfig } from '../../config.ts'
import type { CliContext } from '../context.ts'
import type { Command } from '../main.ts'

const STATUS_EXIT: Record<string, number> = { succeeded: EXIT.ok, failed: EXIT.failure, timeout: EXIT.timeout, cancelled: EXIT.cancelled }
const DEFAULT_MAX_PRICE = 1_000_000
/** The port `--serve` listens on unless --port says otherwise (fixed, so tools keep their settings). */
const DEFAULT_SERVE_PORT = 8777
/** Tokens a `--model` lease generates unless --max-tokens says otherwise. */
const DEFAULT_MAX_TOKENS = 256

export const command: Command = {
  summary: 'Buy a container job or inference on the network: find providers, take the best bid, stream the result, verify the receipt',
  usage: 'clawnode lease --image <image-id> [options] -- <cmd> [args…]\n' +
    '       clawnode lease --spec <job.json> [options]\n' +
    '       clawnode lease --model <model-id> [--max-tokens N] [--temperature T] [--seed N] [--system TEXT] [options] "prompt"\n' +
    '       clawnode lease --family <family> [--min-context N] [same options as --model] "prompt"\n' +
    '       clawnode lease --serve [--port N] [--max-price <millicredits>] [--daily-budget <millicredits>] [--local-fallback <model-id>] [--bootstrap <multiaddr>]…\n\n' +
    '--family buys from any provider with a model of that family (GGUF architecture, e.g. llama) and at\n' +
    'least --min-context tokens of context; the result names the model that served.\n' +
    '--serve runs an OpenAI-compatible endpoint on 127.0.0.1 (until Ctrl-C) whose requests are leases;\n' +
    'its API key is printed once and kept in <data>/gateway.token. --local-fallback (or the config\'s\n' +
    'gateway.localFallback) answers from a model in <data>/models when the network has no provider.\n\n' +
    'Options: --bootstrap <multiaddr>… (else the config\'s), --max-price <millicredits> (default 1000000;\n' +
    '         with --serve the most one request may cost, default the config\'s gateway.maxRequestPrice),\n' +
    '         --daily-budget <millicredits> (with --serve; default the config\'s gateway.dailyBudget),\n' +
    '         --out <dir> (artifacts; default <data>/leases/<time>), --explain (each provider\'s fate), --json,\n' +
    '         --standalone (use a short-lived node even when `clawnode start` runs with this --data)\n\n' +
    'With a running `clawnode start` on the same --data, the lease goes through it (its network, its\n' +
    'identity, its cached records); otherwise a short-lived consumer node joins the network for it.',
  async run (ctx, args) {
    const { values, positionals } = parseCommandArgs(args, {
      image: { type: 'string' },
      spec: { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      'max-price': { type: 'string' },
      out: { type: 'string' },
      explain: { type: 'boolean' },
      standalone: { type: 'boolean' },
      model: { type: 'string' },
      family: { type: 'string' },
      'min-context': { type: 'string' },
      'local-fallback': { type: 'string' },
      'max-tokens': { type: 'string' },
      temperature: { type: 'string' },
      seed: { type: 'string' },
      system: { type: 'string' },
      serve: { type: 'boolean' },
      port: { type: 'string' },
      'daily-budget': { type: 'string' }
    })
    if (values.serve === true) return await serveGateway(ctx, values)
    let spec: unknown
    let inference: InferenceRequest | undefined
    if (values['min-context'] !== undefined && values.family === undefined) throw new UsageError('--min-context goes with --family', 'Try: clawnode lease --family llama --min-context 4096 "Say hello"')
    if (values.model !== undefined && values.family !== undefined) throw new UsageError('lease takes --model or --family, not both')
    if (values.model !== undefined || values.family !== undefined) {
      if (positionals.length === 0) throw new UsageError(`lease ${values.model === undefined ? '--family' : '--model'} needs a prompt`, 'Try: clawnode lease --model tiny "Say hello"')
      const number = (flag: string, text: string | undefined, ok: (n: number) => boolean): number | undefined => {
        if (text === undefined) return undefined
        const n = Number(text)
        if (!ok(n)) throw new UsageError(`--${flag} ${text} is out of range`)
        return n
      }
      const maxTokens = number('max-tokens', values['max-tokens'], n => Number.isInteger(n) && n >= 1 && n <= MAX_INFERENCE_TOKENS) ?? DEFAULT_MAX_TOKENS
      const temperature = number('temperature', values.temperature, n => n >= 0 && n <= 2)
      const seed = number('seed', values.seed, n => Number.isSafeInteger(n) && n >= 0)
      const minContext = number('min-context', values['min-context'], n => Number.isSafeInteger(n) && n >= 0 && n <= MAX_MIN_CONTEXT)
      inference = {
        ...(values.model !== undefined ? { model: values.model } : { family: values.family ?? '', ...(minContext === undefined ? {} : { minContext }) }),
        messages: [...(values.system === undefined ? [] : [{ role: 'system' as const, content: values.system }]), { role: 'user' as const, content: positionals.join(' ') }],
        maxTokens,
        params: { ...(temperature === undefined ? {} : { temperature }), ...(seed === undefined ? {} : { seed }) }
      }
    } else if (values.spec !== undefined) {
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
    const artifactsDir = resolve(values.out ?? join(ctx.dataDir, 'leases', new Date().toISOString().replace(/[:.]/g, '-')))
    const explain: ExplainEntry[] = []
    const onExplain = (e: ExplainEntry): void => { explain.push(e); if (values.explain === true && !ctx.json) ctx.stderr(`  ${e.fate.padEnd(11)} ${e.peer}  ${e.detail}\n`) }
    const onOutput = ctx.json ? undefined : (stream: 'stdout' | 'stderr', data: Uint8Array): void => { (stream === 'stdout' ? process.stdout : process.stderr).write(data) }
    const decoder = new TextDecoder()
    const onText = ctx.json ? undefined : (_stream: 'stdout' | 'stderr', data: Uint8Array): void => { process.stdout.write(decoder.decode(data, { stream: true })) }
    const request: LeaseRequest = { spec, ...(inference === undefined ? {} : { inference }), maxPrice, artifactsDir }
    const output = inference === undefined ? onOutput : onText
    let summary: Record<string, unknown>
    try {
      if (values.standalone !== true && await nodeIsRunning(ctx.dataDir)) {
        if (values.bootstrap !== undefined && !ctx.json) ctx.stderr('▸ --bootstrap is ignored: the running node\'s network is used (or pass --standalone)\n')
        if (!ctx.json) ctx.stderr('▸ leasing through the running node\n')
        summary = await leaseThroughNode(ctx.dataDir, request, { signal: ctx.signal, onExplain, ...(output === undefined ? {} : { onOutput: output }) })
      } else {
        const network: NetworkConfig = { ...config.network, ...(values.bootstrap === undefined ? {} : { bootstrap: values.bootstrap }) }
        summary = await leaseStandalone(ctx, network, request, { onExplain, ...(output === undefined ? {} : { onOutput: output }) })
      }
    } catch (err) {
      if (values.explain === true && ctx.json) ctx.stdout(JSON.stringify({ explain }, null, 2) + '\n')
      throw err
    }
    const usage = summary.usage as { wallMs: number, cpuMs: number, exitCode: number | null, inputTokens?: number, outputTokens?: number }
    const artifacts = summary.artifacts as Array<{ path: string, sha256: string }>
    const { receipt: _receipt, ...shown } = summary
    if (ctx.json) {
      ctx.stdout(JSON.stringify({ ...shown, ...(values.explain === true ? { explain } : {}) }, null, 2) + '\n')
    } else {
      ctx.stderr([
        ...(inference === undefined ? [] : ['']),
        '',
        `${summary.status === 'succeeded' ? '✓' : '✗'} ${String(summary.status)} on ${String(summary.provider)}${summary.model === undefined ? '' : ` with ${String(summary.model)}`} (${String(summary.connectivity)}, rtt ${String(summary.rttMs)} ms; receipt verified and countersigned)`,
        inference === undefined
          ? `  usage: wall ${usage.wallMs} ms, cpu ${usage.cpuMs} ms, exit code ${usage.exitCode ?? 'none'}; charged ${String(summary.price)} millicredits`
          : `  usage: ${usage.inputTokens ?? 0} prompt + ${usage.outputTokens ?? 0} completion tokens in ${usage.wallMs} ms; charged ${String(summary.price)} millicredits`,
        paymentLine(summary.payment),
        ...artifacts.map(a => `  artifact ${join(artifactsDir, a.path)} sha256:${a.sha256}`),
        ''
      ].join('\n'))
    }
    return STATUS_EXIT[String(summary.status)] ?? EXIT.failure
  }
}

interface LeaseRequest { spec: unknown, inference?: InferenceRequest, maxPrice: number, artifactsDir: string }
interface LeaseCallbacks { onExplain: (e: ExplainEntry) => void, onOutput?: (stream: 'stdout' | 'stderr', data: Uint8Array) => void }

async function nodeIsRunning (dataDir: string): Promise<boolean> {
  try {
    await controlRequest(dataDir, '/status')
    return true
  } catch (err) {
    if (err instanceof NoRunningNodeError) return false
    throw err
  }
}

/** The running node leases; its events (explain, output) stream back over the control socket. */
async function leaseThroughNode (dataDir: string, request: LeaseRequest, cb: LeaseCallbacks & { signal: AbortSignal }): Promise<Record<string, unknown>> {
  const events = controlStream(dataDir, '/lease', request, { signal: cb.signal })
  for (;;) {
    const next = await events.next()
    if (next.done === true) return next.value
    const event = next.value
    if (event.type === 'explain') cb.onExplain(event as unknown as ExplainEntry)
    else if (event.type === 'output') cb.onOutput?.(event.stream === 'stderr' ? 'stderr' : 'stdout', Buffer.from(String(event.data), 'base64'))
  }
}

/** How the lease was paid, for the terminal. */
function paymentLine (payment: unknown): string {
  const p = payment as { depositId: string, cumulative: string } | null | undefined
  if (p === null || p === undefined) return '  unpaid (the provider settles on no chain, or this node has settlement off)'
  return `  paid from escrow deposit #${p.depositId}: ${p.cumulative} millicredits drawn from it so far, signed by both sides (\`clawnode wallet\`, \`clawnode ledger\`)`
}

/** A short-lived consumer node with this data dir's identity; it advertises nothing. */
async function leaseStandalone (ctx: CliContext, network: NetworkConfig, request: LeaseRequest, cb: LeaseCallbacks): Promise<Record<string, unknown>> {
  const node = await createClawNode({ dataDir: ctx.dataDir, network })
  const privateKey = await loadOrCreatePeerKey(ctx.dataDir)
  const caps = createCapsService({ node, privateKey, capabilities: { clawnodeVersion: clawnodeVersion(), cpuCores: 0, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: [], prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 0, perGbSecond: 0 }, maxConcurrentJobs: 0 } })
  // Paying through escrow on the node's chain (the machine's local one by default); spends go into the consumer ledger.
  const settlement = await openNodeSettlement({ dataDir: ctx.dataDir, config: await loadConfig(ctx.dataDir), privateKey, provider: false }, { signal: ctx.signal })
  try {
    await node.start()
    await caps.start()
    if (!ctx.json) ctx.stderr(`▸ consumer ${node.peerId.toString()} looking for providers…\n`)
    const consumer = createConsumer({ node, privateKey, caps, ledger: settlement.consumerLedger, ...(settlement.consumer === undefined ? {} : { settlement: settlement.consumer }) })
    const options = {
      maxPrice: request.maxPrice,
      artifactsDir: request.artifactsDir,
      signal: ctx.signal,
      // Right after start the DHT is still filling: keep looking for a while before giving up.
      discoveryWindowMs: LEASE_DISCOVERY_WINDOW_MS,
      onExplain: cb.onExplain,
      ...(cb.onOutput === undefined ? {} : { onOutput: cb.onOutput })
    }
    const result = request.inference !== undefined ? await consumer.leaseInference(request.inference, options) : await consumer.lease(request.spec, options)
    return leaseSummary(result, request.artifactsDir)
  } finally {
    await caps.stop().catch(() => {})
    await node.stop().catch(() => {})
    await settlement.close()
  }
}

/** `clawnode lease --serve`: a consumer node and the OpenAI-compatible gateway in front of it, until Ctrl-C. */
async function serveGateway (ctx: CliContext, values: Record<string, unknown>): Promise<number> {
  const whole = (flag: string, fallback: number): number => {
    const text = values[flag]
    if (text === undefined) return fallback
    const n = Number(text)
    if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${flag} must be a whole number`)
    return n
  }
  const port = whole('port', DEFAULT_SERVE_PORT)
  if (port > 65535) throw new UsageError('--port must be 0..65535')
  await ensureDataDir(ctx.dataDir)
  const config = await loadConfig(ctx.dataDir)
  const bootstrap = values.bootstrap as string[] | undefined
  const network: NetworkConfig = { ...config.network, ...(bootstrap === undefined ? {} : { bootstrap }) }
  const node = await createClawNode({ dataDir: ctx.dataDir, network })
  const privateKey = await loadOrCreatePeerKey(ctx.dataDir)
  const caps = createCapsService({ node, privateKey, capabilities: { clawnodeVersion: clawnodeVersion(), cpuCores: 0, memoryBytes: 0, gpus: [], runtimes: [], images: [], models: [], prices: { per1kInputTokens: 0, per1kOutputTokens: 0, perCpuSecond: 0, perGbSecond: 0 }, maxConcurrentJobs: 0 } })
  // The local fallback: a model of <data>/models, answering when the network does not. It is probed
  // (loaded, one token decoded, in its own process) before the gateway starts, as a provider's models
  // are, so a file that aborts llama.cpp is found now and not on a user's request; unknown, the host
  // keeps every model so that the error can list them.
  const localFallback = (values['local-fallback'] as string | undefined) ?? config.gateway?.localFallback
  const registered = localFallback === undefined ? [] : (await scanModels(ctx.dataDir, config.provider.models ?? [])).models
  const fallback = registered.filter(m => m.id === localFallback)
  const models = localFallback === undefined ? undefined : createModelHost(fallback.length > 0 ? fallback : registered, { memoryBytes: modelMemoryBudget(config.provider), probes: await openProbeStore(ctx.dataDir), ...(config.provider.modelThreads === undefined ? {} : { threads: config.provider.modelThreads }) })
  const probed = fallback.length > 0 ? (await models?.probe({ signal: ctx.signal }))?.find(r => r.id === localFallback) : undefined
  if (probed?.ok === false) {
    await models?.close()
    throw new LocalFallbackBrokenError(localFallback ?? '', probed.error ?? { message: 'it was withdrawn', hint: 'Run `clawnode doctor` to see why.' })
  }
  const settlement = await openNodeSettlement({ dataDir: ctx.dataDir, config, privateKey, provider: false }, { signal: ctx.signal })
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined
  try {
    settlement.start()
    await node.start()
    await caps.start()
    const consumer = createConsumer({ node, privateKey, caps, ledger: settlement.consumerLedger, ...(settlement.consumer === undefined ? {} : { settlement: settlement.consumer }) })
    const network = createNetworkBackend({ consumer, caps, discoveryWindowMs: LEASE_DISCOVERY_WINDOW_MS })
    gateway = await startGateway({
      backend: gatewayBackend(network, { models, model: localFallback }),
      dataDir: ctx.dataDir,
      port,
      maxRequestPriceMillicredits: whole('max-price', config.gateway?.maxRequestPrice ?? DEFAULT_GATEWAY_MAX_REQUEST_PRICE),
      dailyBudgetMillicredits: whole('daily-budget', config.gateway?.dailyBudget ?? DEFAULT_GATEWAY_DAILY_BUDGET)
    })
    if (ctx.json) ctx.stdout(JSON.stringify({ event: 'serving', url: `${gateway.url}/v1`, tokenFile: gatewayTokenPath(ctx.dataDir), peerId: node.peerId.toString(), ...(localFallback === undefined ? {} : { localFallback }) }) + '\n')
    else {
      ctx.stderr([
        `✓ OpenAI-compatible endpoint on ${gateway.url}/v1 (consumer ${node.peerId.toString()})`,
        `  API key (also in ${gatewayTokenPath(ctx.dataDir)}): ${gateway.token}`,
        ...(localFallback === undefined ? [] : [`  local fallback: the model ${localFallback} answers when the network has no provider`]),
        `  try: curl ${gateway.url}/v1/models -H "Authorization: Bearer $(cat ${gatewayTokenPath(ctx.dataDir)})"`,
        '  Ctrl-C to stop',
        ''
      ].join('\n'))
    }
    await untilAborted(ctx.signal)
  } finally {
    await gateway?.close().catch(() => {})
    await models?.close().catch(() => {})
    await caps.stop().catch(() => {})
    await node.stop().catch(() => {})
    await settlement.close()
  }
  return EXIT.ok
}
