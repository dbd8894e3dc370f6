/**
 * The node's configuration file (`<dataDir>/config.json`), validated once with errors that name the
 * key. Sections: sandbox, network, provider, chain, settlement, gateway.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClawnodeError } from '../protocol/index.ts'
import { DEFAULT_LIMITS, MAX_MODEL_THREADS, MAX_POOL_SIZE } from '../sandbox/index.ts'
import type { JobLimits, PoolProfileInit, SandboxRunnerInit } from '../sandbox/index.ts'

export class ConfigError extends ClawnodeError {
  static override name = 'ConfigError'
  constructor (path: string, key: string, problem: string, options: { cause?: unknown } = {}) {
    super(`${path}: ${key} ${problem}`, { ...options, hint: `Fix ${key} in ${path} (see the README's configuration section).` })
  }
}

export interface SandboxConfig {
  runtime?: string
  allowRunc?: boolean
  keeper?: string
  maxLimits?: Partial<JobLimits>
  pool?: PoolProfileInit[]
}

export interface IceServer { urls: string | string[], username?: string, credential?: string }

export interface NetworkConfig {
  /** Multiaddrs to listen on. */
  listen?: string[]
  /** Multiaddrs (with /p2p/<id>) of bootstrap peers. */
  bootstrap?: string[]
  dhtMode?: 'server' | 'client' | 'auto'
  /** STUN/TURN servers for WebRTC; none by default (the built-in defaults are public hosts). */
  iceServers?: IceServer[]
  /** A preset ("loopback", "test-net", "any") or CIDR ranges the node may dial and announce. */
  addressPolicy?: string | string[]
  /**
   * Reserve a slot on a circuit relay (listen on /p2p-circuit), so that peers reach this node behind
   * NAT. Default: on, except under a loopback-only policy (nobody there is behind NAT) and on a relay
   * server. A node looking for a relay random-walks the DHT until it holds a reservation.
   */
  relayReservation?: boolean
}

export interface ProviderConfig {
  /** Jobs run at once; more are declined as busy. */
  maxConcurrentJobs?: number
  /** Prices in millicredits (1/1000 credit). */
  prices?: { per1kInputTokens?: number, per1kOutputTokens?: number, perCpuSecond?: number, perGbSecond?: number }
  /** Validity of the signed capability record and DHT announcements, ms. */
  recordTtlMs?: number
  /** Host memory kept free for the rest of the machine; orders that do not fit beside it are declined as overloaded. */
  memoryReserveMb?: number
  /** Tokens between two streamed, co-signed usage ticks of an inference lease (default 64). */
  usageTickTokens?: number
  /** GGUF files served besides those in <data>/models (paths relative to the data dir or absolute). */
  models?: Array<{ id?: string, path: string }>
  /**
   * Memory the loaded models may take together, MiB (default: half the machine's memory). Idle models
   * are closed, least recently used first, to make room; a model larger than this is not offered.
   */
  modelMemoryMb?: number
  /**
   * Inference threads of each model process (default: one less than the CPU cores, at least one: on
   * 2 vCPUs one thread was measured fastest, llama.cpp's default of four ~100× slower).
   */
  modelThreads?: number
}

/** Where the node anchors its ledger and settles leases (node/chain.ts). */
export interface ChainConfig {
  /** "local" (default): the machine's embedded anvil; "rpc": the chain below; "off": no settlement, no anchoring. */
  mode?: 'local' | 'rpc' | 'off'
  /** The local chain's shared folder (default $CLAWNODE_CHAIN_DIR, else ~/.clawnode/chain). */
  localDir?: string
  rpcUrl?: string
  chainId?: number
  contracts?: { creditToken: `0x${string}`, usageAnchor: `0x${string}`, usageEscrow: `0x${string}` }
  /** Blocks to wait on a remote chain (default 2; 1 locally). */
  confirmations?: number
  /**
   * Where the settlement key that signs locally is (default <data>/keys/settlement.key): a key file
   * (0x-hex, mode 0600; relative to the data dir) or an environment variable; never the key itself.
   */
  key?: ChainKeySource
  /** The local chain's escrow fee in basis points when it is first deployed (default 0). */
  feeBps?: number
  /** The local chain's dispute window in seconds when it is first deployed (default 600). */
  disputeWindowS?: number
}

/** A `chain.key`: `"path"` or `{ "file": "path" }`, or `{ "env": "NAME" }`. */
export type ChainKeySource = { file: string } | { env: string }

/** How leases are paid for (node/settlement.ts). */
export interface SettlementConfig {
  /** Seconds between two closed batches of the provider ledger, anchored and claimed together (default 300). */
  periodS?: number
  /** A consumer's new deposit with a provider, millicredits (default 100,000: 100 credits). */
  depositAmount?: number
  /** Days a new deposit lasts (default 7). */
  depositDays?: number
  /** Peers served postpaid, without a covering deposit, up to a cap, settled each period. */
  trusted?: Array<{ peer: string, capMillicredits?: number, ordersPerMinute?: number }>
  /** Providers that trust this node: its deposits with them are topped up each period, not before a lease. */
  postpaidWith?: string[]
}

/** The OpenAI-compatible gateway (`clawnode start --gateway`, `clawnode lease --serve`). */
export interface GatewayConfig {
  /** A model of this node's own (its id in <data>/models) that answers when the network gives no provider. */
  localFallback?: string
  /** The most one request may cost, in millicredits (DEFAULT_GATEWAY_MAX_REQUEST_PRICE). */
  maxRequestPrice?: number
  /** The most all requests of a UTC day may cost, in millicredits (DEFAULT_GATEWAY_DAILY_BUDGET). */
  dailyBudget?: number
}

export interface NodeConfig {
  sandbox: SandboxConfig
  network: NetworkConfig
  provider: ProviderConfig
  chain: ChainConfig
  settlement: SettlementConfig
  /** Absent when the file has no gateway section. */
  gateway?: GatewayConfig
}

const MAX_CONFIG_BYTES = 1024 * 1024
const LIMIT_KEYS = Object.keys(DEFAULT_LIMITS)

function checkLimits (path: string, key: string, value: unknown): Partial<JobLimits> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(path, key, 'must be an object')
  for (const [k, v] of Object.entries(value)) {
    if (!LIMIT_KEYS.includes(k)) throw new ConfigError(path, `${key}.${k}`, `is not a limit (known: ${LIMIT_KEYS.join(', ')})`)
    if (typeof v !== 'number' || !(v > 0)) throw new ConfigError(path, `${key}.${k}`, 'must be a positive number')
  }
  return value as Partial<JobLimits>
}

export function parseConfig (path: string, data: unknown): NodeConfig {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new ConfigError(path, 'the file', 'must hold a JSON object')
  const { sandbox = {}, network = {}, provider = {}, chain = {}, settlement = {}, gateway, ...rest } = data as Record<string, unknown>
  const unknownKey = Object.keys(rest)[0]
  if (unknownKey !== undefined) throw new ConfigError(path, unknownKey, 'is not a known section')
  if (typeof sandbox !== 'object' || sandbox === null) throw new ConfigError(path, 'sandbox', 'must be an object')
  const s = sandbox as Record<string, unknown>
  const out: SandboxConfig = {}
  for (const key of Object.keys(s)) {
    if (!['runtime', 'allowRunc', 'keeper', 'maxLimits', 'pool'].includes(key)) throw new ConfigError(path, `sandbox.${key}`, 'is not a known key')
  }
  if (s.runtime !== undefined) {
    if (s.runtime !== 'runsc' && s.runtime !== 'runc') throw new ConfigError(path, 'sandbox.runtime', 'must be "runsc" (gVisor) or "runc"')
    out.runtime = s.runtime
  }
  if (s.allowRunc !== undefined) {
    if (typeof s.allowRunc !== 'boolean') throw new ConfigError(path, 'sandbox.allowRunc', 'must be true or false')
    out.allowRunc = s.allowRunc
  }
  if (s.keeper !== undefined) {
    if (typeof s.keeper !== 'string') throw new ConfigError(path, 'sandbox.keeper', 'must be a path')
    out.keeper = s.keeper
  }
  if (s.maxLimits !== undefined) out.maxLimits = checkLimits(path, 'sandbox.maxLimits', s.maxLimits)
  if (s.pool !== undefined) {
    if (!Array.isArray(s.pool)) throw new ConfigError(path, 'sandbox.pool', 'must be an array')
    out.pool = s.pool.map((p: unknown, i) => {
      const key = `sandbox.pool[${i}]`
      if (typeof p !== 'object' || p === null) throw new ConfigError(path, key, 'must be an object')
      const { image, size, limits } = p as Record<string, unknown>
      if (typeof image !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(image)) throw new ConfigError(path, `${key}.image`, 'must be an image ID (sha256:…)')
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > MAX_POOL_SIZE) throw new ConfigError(path, `${key}.size`, `must be an integer 0..${MAX_POOL_SIZE}`)
      return { image, size, ...(limits === undefined ? {} : { limits: checkLimits(path, `${key}.limits`, limits) }) }
    })
  }
  return { sandbox: out, network: parseNetwork(path, network), provider: parseProvider(path, provider), chain: parseChain(path, chain), settlement: parseSettlement(path, settlement), ...(gateway === undefined ? {} : { gateway: parseGateway(path, gateway) }) }
}

function parseGateway (path: string, value: unknown): GatewayConfig {
  const g = section(path, 'gateway', value, ['localFallback', 'maxRequestPrice', 'dailyBudget'])
  const out: GatewayConfig = {}
  for (const key of ['maxRequestPrice', 'dailyBudget'] as const) {
    const v = g[key]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new ConfigError(path, `gateway.${key}`, 'must be a whole number of millicredits (1 credit = 1000)')
    out[key] = v
  }
  if (g.localFallback !== undefined) {
    // Whether this node has the model is checked when the gateway starts (LocalFallbackModelError).
    if (typeof g.localFallback !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(g.localFallback)) throw new ConfigError(path, 'gateway.localFallback', 'must be a model id (a file name in <data>/models without .gguf)')
    out.localFallback = g.localFallback
  }
  return out
}

function section (path: string, name: string, value: unknown, keys: string[]): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(path, name, 'must be an object')
  for (const key of Object.keys(value)) if (!keys.includes(key)) throw new ConfigError(path, `${name}.${key}`, `is not a known key (known: ${keys.join(', ')})`)
  return value as Record<string, unknown>
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/

function parseChain (path: string, value: unknown): ChainConfig {
  const c = section(path, 'chain', value, ['mode', 'localDir', 'rpcUrl', 'chainId', 'contracts', 'confirmations', 'key', 'feeBps', 'disputeWindowS'])
  const out: ChainConfig = {}
  if (c.mode !== undefined) {
    if (c.mode !== 'local' && c.mode !== 'rpc' && c.mode !== 'off') throw new ConfigError(path, 'chain.mode', 'must be "local", "rpc" or "off"')
    out.mode = c.mode
  }
  if (c.localDir !== undefined) {
    if (typeof c.localDir !== 'string' || c.localDir === '') throw new ConfigError(path, 'chain.localDir', 'must be a folder path')
    out.localDir = c.localDir
  }
  if (c.rpcUrl !== undefined) {
    if (typeof c.rpcUrl !== 'string' || !/^https?:\/\/[^\s]+$/.test(c.rpcUrl)) throw new ConfigError(path, 'chain.rpcUrl', 'must be an http(s) URL')
    out.rpcUrl = c.rpcUrl
  }
  if (c.chainId !== undefined) out.chainId = positiveInt(path, 'chain.chainId', c.chainId, Number.MAX_SAFE_INTEGER)
  if (c.contracts !== undefined) {
    const k = section(path, 'chain.contracts', c.contracts, ['creditToken', 'usageAnchor', 'usageEscrow'])
    for (const name of ['creditToken', 'usageAnchor', 'usageEscrow']) {
      if (typeof k[name] !== 'string' || !ADDRESS.test(k[name])) throw new ConfigError(path, `chain.contracts.${name}`, 'must be a 0x… contract address')
    }
    out.contracts = k as NonNullable<ChainConfig['contracts']>
  }
  if (c.confirmations !== undefined) out.confirmations = Math.max(1, positiveInt(path, 'chain.confirmations', c.confirmations, 64))
  if (c.key !== undefined) out.key = parseChainKey(path, c.key)
  if (c.feeBps !== undefined) out.feeBps = positiveInt(path, 'chain.feeBps', c.feeBps, 1000)
  if (c.disputeWindowS !== undefined) out.disputeWindowS = positiveInt(path, 'chain.disputeWindowS', c.disputeWindowS, 30 * 24 * 3600)
  if (out.mode === 'rpc' && (out.rpcUrl === undefined || out.chainId === undefined || out.contracts === undefined)) throw new ConfigError(path, 'chain', 'in mode "rpc" needs rpcUrl, chainId and contracts')
  return out
}

const INLINE_KEY = /^(0x)?[0-9a-fA-F]{64}$/

/** chain.key: where the key is, checked for shape here; the file or variable is read when the chain opens (node/chain-key.ts). */
function parseChainKey (path: string, value: unknown): ChainKeySource {
  const inline = 'must not hold the private key itself (a config file is read and copied too freely): put the key in a file of mode 0600 and give its path, or in an environment variable and give { "env": "NAME" }'
  if (typeof value === 'string') value = { file: value }
  const k = section(path, 'chain.key', value, ['file', 'env'])
  if ((k.file === undefined) === (k.env === undefined)) throw new ConfigError(path, 'chain.key', 'must be a key file path, { "file": "<path>" } or { "env": "<NAME>" }')
  if (k.file !== undefined) {
    if (typeof k.file !== 'string' || k.file === '' || k.file.length > 4096) throw new ConfigError(path, 'chain.key.file', 'must be the path of a file holding the 0x private key (mode 0600)')
    if (INLINE_KEY.test(k.file.trim())) throw new ConfigError(path, 'chain.key', inline)
    return { file: k.file }
  }
  if (typeof k.env === 'string' && INLINE_KEY.test(k.env.trim())) throw new ConfigError(path, 'chain.key', inline)
  if (typeof k.env !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(k.env)) throw new ConfigError(path, 'chain.key.env', 'must be the name of an environment variable (letters, digits, _) that holds the 0x private key')
  return { env: k.env }
}

function parseSettlement (path: string, value: unknown): SettlementConfig {
  const c = section(path, 'settlement', value, ['periodS', 'depositAmount', 'depositDays', 'trusted', 'postpaidWith'])
  const out: SettlementConfig = {}
  if (c.periodS !== undefined) out.periodS = Math.max(1, positiveInt(path, 'settlement.periodS', c.periodS, 7 * 24 * 3600))
  if (c.depositAmount !== undefined) out.depositAmount = Math.max(1, positiveInt(path, 'settlement.depositAmount', c.depositAmount, Number.MAX_SAFE_INTEGER))
  if (c.depositDays !== undefined) out.depositDays = Math.max(1, positiveInt(path, 'settlement.depositDays', c.depositDays, 3650))
  if (c.trusted !== undefined) {
    if (!Array.isArray(c.trusted) || c.trusted.length > 1024) throw new ConfigError(path, 'settlement.trusted', 'must be a list of at most 1024 { "peer": … } entries')
    out.trusted = c.trusted.map((t: unknown, i) => {
      const e = section(path, `settlement.trusted[${i}]`, t, ['peer', 'capMillicredits', 'ordersPerMinute'])
      if (typeof e.peer !== 'string' || !/^[1-9A-HJ-NP-Za-km-z]{40,100}$/.test(e.peer)) throw new ConfigError(path, `settlement.trusted[${i}].peer`, 'must be a peer id')
      return {
        peer: e.peer,
        ...(e.capMillicredits === undefined ? {} : { capMillicredits: positiveInt(path, `settlement.trusted[${i}].capMillicredits`, e.capMillicredits, Number.MAX_SAFE_INTEGER) }),
        ...(e.ordersPerMinute === undefined ? {} : { ordersPerMinute: Math.max(1, positiveInt(path, `settlement.trusted[${i}].ordersPerMinute`, e.ordersPerMinute, 100_000)) })
      }
    })
  }
  if (c.postpaidWith !== undefined) {
    const peers = stringList(path, 'settlement.postpaidWith', c.postpaidWith)
    const bad = peers.findIndex(p => !/^[1-9A-HJ-NP-Za-km-z]{40,100}$/.test(p))
    if (bad >= 0 || peers.length > 1024) throw new ConfigError(path, `settlement.postpaidWith${bad >= 0 ? `[${bad}]` : ''}`, 'must be a list of at most 1024 peer ids')
    out.postpaidWith = peers
  }
  return out
}

function positiveInt (path: string, key: string, value: unknown, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) throw new ConfigError(path, key, `must be an integer 0..${max}`)
  return value
}

function parseProvider (path: string, value: unknown): ProviderConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(path, 'provider', 'must be an object')
  const p = value as Record<string, unknown>
  const out: ProviderConfig = {}
  for (const key of Object.keys(p)) {
    if (!['maxConcurrentJobs', 'prices', 'recordTtlMs', 'memoryReserveMb', 'usageTickTokens', 'models', 'modelMemoryMb', 'modelThreads'].includes(key)) throw new ConfigError(path, `provider.${key}`, 'is not a known key')
  }
  if (p.maxConcurrentJobs !== undefined) out.maxConcurrentJobs = positiveInt(path, 'provider.maxConcurrentJobs', p.maxConcurrentJobs, 1024)
  if (p.recordTtlMs !== undefined) out.recordTtlMs = positiveInt(path, 'provider.recordTtlMs', p.recordTtlMs, 24 * 60 * 60 * 1000)
  if (p.models !== undefined) {
    if (!Array.isArray(p.models) || p.models.length > 256) throw new ConfigError(path, 'provider.models', 'must be a list of at most 256 { "path": …, "id": … } entries')
    out.models = p.models.map((m: unknown, i) => {
      const e = (typeof m === 'object' && m !== null ? m : {}) as Record<string, unknown>
      if (typeof e.path !== 'string' || e.path === '') throw new ConfigError(path, `provider.models[${i}].path`, 'must be the path of a GGUF file')
      if (e.id !== undefined && typeof e.id !== 'string') throw new ConfigError(path, `provider.models[${i}].id`, 'must be a string')
      return { path: e.path, ...(typeof e.id === 'string' ? { id: e.id } : {}) }
    })
  }
  if (p.usageTickTokens !== undefined) out.usageTickTokens = Math.max(1, positiveInt(path, 'provider.usageTickTokens', p.usageTickTokens, 65_536))
  if (p.modelMemoryMb !== undefined) {
    out.modelMemoryMb = positiveInt(path, 'provider.modelMemoryMb', p.modelMemoryMb, 1024 * 1024 * 1024)
    if (out.modelMemoryMb === 0) throw new ConfigError(path, 'provider.modelMemoryMb', 'must be at least 1 (MiB)')
  }
  if (p.modelThreads !== undefined) {
    if (typeof p.modelThreads !== 'number' || !Number.isInteger(p.modelThreads) || p.modelThreads < 1 || p.modelThreads > MAX_MODEL_THREADS) throw new ConfigError(path, 'provider.modelThreads', `must be an integer 1..${MAX_MODEL_THREADS}`)
    out.modelThreads = p.modelThreads
  }
  if (p.memoryReserveMb !== undefined) out.memoryReserveMb = positiveInt(path, 'provider.memoryReserveMb', p.memoryReserveMb, 1024 * 1024 * 1024)
  if (p.prices !== undefined) {
    if (typeof p.prices !== 'object' || p.prices === null) throw new ConfigError(path, 'provider.prices', 'must be an object')
    const prices: NonNullable<ProviderConfig['prices']> = {}
    for (const [k, v] of Object.entries(p.prices)) {
      if (!['per1kInputTokens', 'per1kOutputTokens', 'perCpuSecond', 'perGbSecond'].includes(k)) throw new ConfigError(path, `provider.prices.${k}`, 'is not a known price')
      prices[k as keyof typeof prices] = positiveInt(path, `provider.prices.${k}`, v, Number.MAX_SAFE_INTEGER)
    }
    out.prices = prices
  }
  return out
}

function stringList (path: string, key: string, value: unknown): string[] {
  if (!Array.isArray(value) || value.some(v => typeof v !== 'string')) throw new ConfigError(path, key, 'must be an array of strings')
  return value as string[]
}

function parseNetwork (path: string, value: unknown): NetworkConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(path, 'network', 'must be an object')
  const n = value as Record<string, unknown>
  const out: NetworkConfig = {}
  for (const key of Object.keys(n)) {
    if (!['listen', 'bootstrap', 'dhtMode', 'iceServers', 'addressPolicy', 'relayReservation'].includes(key)) throw new ConfigError(path, `network.${key}`, 'is not a known key')
  }
  if (n.listen !== undefined) out.listen = stringList(path, 'network.listen', n.listen)
  if (n.bootstrap !== undefined) out.bootstrap = stringList(path, 'network.bootstrap', n.bootstrap)
  if (n.dhtMode !== undefined) {
    if (n.dhtMode !== 'server' && n.dhtMode !== 'client' && n.dhtMode !== 'auto') throw new ConfigError(path, 'network.dhtMode', 'must be "server", "client" or "auto"')
    out.dhtMode = n.dhtMode
  }
  if (n.iceServers !== undefined) {
    if (!Array.isArray(n.iceServers)) throw new ConfigError(path, 'network.iceServers', 'must be an array')
    out.iceServers = n.iceServers.map((s: unknown, i) => {
      const e = s as Record<string, unknown>
      const urlsOk = typeof e?.urls === 'string' || (Array.isArray(e?.urls) && e.urls.every(u => typeof u === 'string'))
      if (!urlsOk) throw new ConfigError(path, `network.iceServers[${i}].urls`, 'must be a URL or a list of URLs (stun:… or turn:…)')
      return e as unknown as IceServer
    })
  }
  if (n.relayReservation !== undefined) {
    if (typeof n.relayReservation !== 'boolean') throw new ConfigError(path, 'network.relayReservation', 'must be true or false')
    out.relayReservation = n.relayReservation
  }
  if (n.addressPolicy !== undefined) {
    if (typeof n.addressPolicy === 'string') out.addressPolicy = n.addressPolicy
    else out.addressPolicy = stringList(path, 'network.addressPolicy', n.addressPolicy)
  }
  return out
}

export async function loadConfig (dataDir: string): Promise<NodeConfig> {
  const path = join(dataDir, 'config.json')
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { sandbox: {}, network: {}, provider: {}, chain: {}, settlement: {} }
    throw new ConfigError(path, 'the file', 'cannot be read', { cause: err })
  }
  if (text.length > MAX_CONFIG_BYTES) throw new ConfigError(path, 'the file', `is larger than ${MAX_CONFIG_BYTES} bytes`)
  let data: unknown
  try { data = JSON.parse(text) } catch (err) { throw new ConfigError(path, 'the file', `is not valid JSON (${(err as Error).message})`, { cause: err }) }
  return parseConfig(path, data)
}

/** The sandbox runner's options from the config's sandbox section (`pool` only for long-running nodes). */
export function runnerInit (dataDir: string, sandbox: SandboxConfig, options: { pool: boolean }): SandboxRunnerInit {
  return {
    dataDir,
    ...(sandbox.runtime === undefined ? {} : { runtime: sandbox.runtime }),
    ...(sandbox.allowRunc === undefined ? {} : { allowRunc: sandbox.allowRunc }),
    ...(sandbox.keeper === undefined ? {} : { keeper: sandbox.keeper }),
    ...(sandbox.maxLimits === undefined ? {} : { policy: { maxLimits: sandbox.maxLimits } }),
    ...(sandbox.pool === undefined || !options.pool ? {} : { pool: sandbox.pool })
  }
}
