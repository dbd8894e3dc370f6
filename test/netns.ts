/**
 * Linux network namespaces for tests that need a real network: namespaces joined by veth pairs, with
 * addresses, routes, a home-router NAT (MASQUERADE plus a stateful firewall), commands and processes
 * run inside a namespace, and iptables packet counters read back. Root only. Everything is named per
 * run (`clawnode-t<pid>-<random>-<label>`), never touches the host's own interfaces, and
 * `cleanup()` removes it all (also from an exit hook); namespaces left by killed runs are removed by
 * `removeStaleNamespaces()`.
 */
import { execFile, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { ChildProcess, SpawnOptions } from 'node:child_process'

const PREFIX = 'clawnode-t'
const EXEC_TIMEOUT_MS = 10_000
/** Spawned processes get this long after SIGTERM before SIGKILL. */
const KILL_GRACE_MS = 5_000
/** Only test-network ranges (RFC 2544, 198.18.0.0/15) may be configured on an interface or route. */
const TEST_NET = /^198\.(18|19)\.\d{1,3}\.\d{1,3}(\/\d{1,2})?$/

export interface ExecResult { code: number | null, stdout: string, stderr: string }

/** One iptables rule with its counters, from `iptables-save -c`. */
export interface IptablesCounter { table: string, chain: string, rule: string, comment?: string, packets: number, bytes: number }

export interface Netns {
  /** The short name given to `ns()`. */
  readonly label: string
  /** The namespace's real (unique) name, for `ip netns exec`. */
  readonly name: string
  /** Runs a command inside the namespace with a time bound; rejects on a non-zero exit unless `allowFail`. */
  exec: (argv: string[], options?: { timeoutMs?: number, allowFail?: boolean, input?: string }) => Promise<ExecResult>
  /** Starts a long-running process inside the namespace; `cleanup()` ends it if the test does not. */
  spawn: (argv: string[], options?: SpawnOptions) => ChildProcess
  /** Runs `iptables -w <args>` (or ip6tables with family 6) inside the namespace. */
  iptables: (args: string[], family?: 4 | 6) => Promise<string>
  /** Every rule of a table (default filter; IPv4 unless family 6) with its packet and byte counters. */
  counters: (table?: 'filter' | 'nat' | 'mangle' | 'raw', family?: 4 | 6) => Promise<IptablesCounter[]>
  /** Adds a route: `route('default', '198.18.0.1')` or `route('198.19.1.0/24', '198.18.0.2')`. */
  route: (destination: string, via: string) => Promise<void>
  /** Sets a sysctl inside the namespace (e.g. net.ipv4.ip_forward=1). */
  sysctl: (key: string, value: string) => Promise<void>
  /**
   * Tries a TCP connection from inside the namespace: 'open' (connected), 'refused' (refused or
   * unreachable, answered at once) or 'timeout' (no answer: dropped on the way).
   */
  probeTcp: (host: string, port: number, timeoutMs?: number) => Promise<{ result: 'open' | 'refused' | 'timeout', ms: number }>
}

export interface NetnsWorld {
  /** Unique per run; part of every namespace name. */
  readonly id: string
  /** Creates a namespace with loopback up. `label`: a short name ([a-z0-9], up to 12 characters). */
  ns: (label: string) => Promise<Netns>
  /**
   * Joins two namespaces with a veth pair and gives each end an address. Two /32 addresses make a
   * point-to-point link; otherwise both ends share the subnet. Interfaces are named after the other
   * side's label unless given.
   */
  link: (a: Netns, aCidr: string, b: Netns, bCidr: string, options?: { aIf?: string, bIf?: string }) => Promise<{ aIf: string, bIf: string }>
  /**
   * Makes `router` a home NAT: forwarding on, MASQUERADE out of `wanIf` (Linux keeps the source port
   * when it is free, so the mapping does not depend on the destination), and a stateful firewall:
   * nothing from the WAN side reaches the router or the LAN unless it belongs to a connection opened
   * from inside.
   */
  homeNat: (router: Netns, wanIf: string, lanIf: string) => Promise<void>
  /** Kills every process spawned in the world's namespaces and deletes the namespaces. Idempotent. */
  cleanup: () => Promise<void>
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailable (): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux'
  if (process.getuid?.() !== 0) return 'network namespaces need root (run the test as root)'
  for (const tool of [['ip', '-V'], ['iptables', '--version'], ['iptables-save', '--version'], ['bash', '--version']]) {
    try { execFileSync(tool[0] as string, tool.slice(1), { stdio: 'ignore', timeout: EXEC_TIMEOUT_MS }) } catch { return `${tool[0] as string} is missing (install iproute2, iptables and bash)` }
  }
  return undefined
}

async function run (argv: string[], options: { timeoutMs?: number, allowFail?: boolean, input?: string } = {}): Promise<ExecResult> {
  const [file, ...args] = argv
  if (file === undefined) throw new Error('empty command')
  return await new Promise((resolve, reject) => {
    const child = execFile(file, args, { timeout: options.timeoutMs ?? EXEC_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null
      if (code !== 0 && options.allowFail !== true) reject(new Error(`${argv.join(' ')} failed (${code ?? (err as { signal?: string } | null)?.signal ?? 'no exit code'}): ${stderr.trim()}`))
      else resolve({ code, stdout, stderr })
    })
    if (options.input !== undefined) child.stdin?.end(options.input)
  })
}

function checkCidr (cidr: string): void {
  if (!TEST_NET.test(cidr)) throw new Error(`${cidr} is outside 198.18.0.0/15: namespace tests only use the RFC 2544 test range`)
}

function processAlive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch (err) { return (err as NodeJS.ErrnoException).code === 'EPERM' }
}

function listNamespaces (): string[] {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: EXEC_TIMEOUT_MS }).split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n !== '')
  } catch { return [] }
}

/** Kills what still runs in a namespace and deletes it (synchronous, so it also works in an exit hook). */
function removeNamespaceSync (name: string): void {
  try {
    const pids = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', timeout: EXEC_TIMEOUT_MS }).split('\n').filter(p => /^\d+$/.test(p))
    for (const pid of pids) { try { process.kill(Number(pid), 'SIGKILL') } catch {} }
  } catch {}
  try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: EXEC_TIMEOUT_MS }) } catch {}
}

/** Deletes namespaces that earlier test runs (whose process is gone) left behind; returns their names. */
export function removeStaleNamespaces (): string[] {
  const stale = listNamespaces().filter(name => {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)
    return m !== null && Number(m[1]) !== process.pid && !processAlive(Number(m[1]))
  })
  for (const name of stale) removeNamespaceSync(name)
  return stale
}

export function parseIptablesSave (table: string, text: string): IptablesCounter[] {
  const out: IptablesCounter[] = []
  for (const line of text.split('\n')) {
    const m = /^\[(\d+):(\d+)\] -A (\S+) ?(.*)$/.exec(line)
    if (m === null) continue
    const rule = m[4] ?? ''
    const comment = /--comment (?:"([^"]*)"|(\S+))/.exec(rule)
    out.push({ table, chain: m[3] as string, rule, packets: Number(m[1]), bytes: Number(m[2]), ...(comment === null ? {} : { comment: comment[1] ?? comment[2] as string }) })
  }
  return out
}

export async function createNetnsWorld (): Promise<NetnsWorld> {
  const reason = netnsUnavailable()
  if (reason !== undefined) throw new Error(`cannot create network namespaces: ${reason}`)
  removeStaleNamespaces()
  const id = `${process.pid}-${randomBytes(3).toString('hex')}`
  const names: string[] = []
  const children = new Set<ChildProcess>()
  let cleaned = false

  const onExit = (): void => {
    for (const child of children) { try { child.kill('SIGKILL') } catch {} }
    for (const name of names) removeNamespaceSync(name)
  }
  process.on('exit', onExit)

  const ns = async (label: string): Promise<Netns> => {
    if (!/^[a-z0-9]{1,12}$/.test(label)) throw new Error(`namespace label ${JSON.stringify(label)}: use up to 12 of [a-z0-9]`)
    if (cleaned) throw new Error('this namespace world was cleaned up')
    const name = `${PREFIX}${id}-${label}`
    await run(['ip', 'netns', 'add', name])
    names.push(name)
    await run(['ip', '-n', name, 'link', 'set', 'dev', 'lo', 'up'])
    const inside = (argv: string[]): string[] => ['ip', 'netns', 'exec', name, ...argv]
    return {
      label,
      name,
      exec: async (argv, options = {}) => await run(inside(argv), options),
      spawn (argv, options = {}) {
        const child = spawn('ip', ['netns', 'exec', name, ...argv], options)
        children.add(child)
        child.once('exit', () => { children.delete(child) })
        return child
      },
      iptables: async (args, family = 4) => (await run(inside([family === 6 ? 'ip6tables' : 'iptables', '-w', '5', ...args]))).stdout,
      async counters (table = 'filter', family = 4) {
        return parseIptablesSave(table, (await run(inside([family === 6 ? 'ip6tables-save' : 'iptables-save', '-c', '-t', table]))).stdout)
      },
      async route (destination, via) {
        if (destination !== 'default') checkCidr(destination)
        checkCidr(via)
        await run(['ip', '-n', name, 'route', 'add', destination, 'via', via])
      },
      async sysctl (key, value) {
        await run(inside(['sysctl', '-q', '-w', `${key}=${value}`]))
      },
      async probeTcp (host, port, timeoutMs = 2_000) {
        if (!TEST_NET.test(host)) throw new Error(`${host} is outside 198.18.0.0/15`)
        const startedAt = Date.now()
        // bash's /dev/tcp: one connect(), no extra tools; timeout(1) exits 124 when it hangs.
        const seconds = (timeoutMs / 1000).toFixed(3)
        const { code } = await run(inside(['timeout', seconds, 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`]), { allowFail: true, timeoutMs: timeoutMs + 5_000 })
        return { result: code === 0 ? 'open' : code === 124 ? 'timeout' : 'refused', ms: Date.now() - startedAt }
      }
    }
  }

  return {
    id,
    ns,
    async link (a, aCidr, b, bCidr, options = {}) {
      checkCidr(aCidr)
      checkCidr(bCidr)
      const aIf = options.aIf ?? b.label
      const bIf = options.bIf ?? a.label
      // Created inside the namespaces: the host's own namespace never sees either end.
      await run(['ip', '-n', a.name, 'link', 'add', 'name', aIf, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name])
      const pointToPoint = aCidr.endsWith('/32') && bCidr.endsWith('/32')
      for (const [side, iface, cidr, other] of [[a, aIf, aCidr, bCidr], [b, bIf, bCidr, aCidr]] as const) {
        const addr = pointToPoint ? [cidr, 'peer', other] : [cidr]
        await run(['ip', '-n', side.name, 'addr', 'add', ...addr, 'dev', iface])
        await run(['ip', '-n', side.name, 'link', 'set', 'dev', iface, 'up'])
      }
      return { aIf, bIf }
    },
    async homeNat (router, wanIf, lanIf) {
      await router.sysctl('net.ipv4.ip_forward', '1')
      const rules = [
        ['-t', 'nat', '-A', 'POSTROUTING', '-o', wanIf, '-j', 'MASQUERADE'],
        ['-A', 'FORWARD', '-i', lanIf, '-o', wanIf, '-j', 'ACCEPT'],
        ['-A', 'FORWARD', '-i', wanIf, '-o', lanIf, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
        ['-A', 'FORWARD', '-m', 'comment', '--comment', 'nat-drop-forward', '-j', 'DROP'],
        // Unsolicited packets to the router itself are dropped before conntrack confirms them, so
        // they cannot claim a port mapping that a connection from inside needs (a known way Linux NAT
        // breaks UDP hole punching); replies to the router's own traffic still get in.
        ['-A', 'INPUT', '-i', wanIf, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT'],
        ['-A', 'INPUT', '-i', wanIf, '-m', 'comment', '--comment', 'nat-drop-input', '-j', 'DROP']
      ]
      for (const rule of rules) await router.iptables(rule)
    },
    async cleanup () {
      if (cleaned) return
      cleaned = true
      const exits = [...children].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return
        const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
        child.kill('SIGTERM')
        const timer = setTimeout(() => { child.kill('SIGKILL') }, KILL_GRACE_MS)
        await exited
        clearTimeout(timer)
      })
      // Bounded even if a process ignored everything: SIGKILL ends it, and its namespace goes below.
      await Promise.race([Promise.all(exits), new Promise(resolve => setTimeout(resolve, KILL_GRACE_MS + 5_000).unref())])
      for (const name of names) removeNamespaceSync(name)
      process.off('exit', onExit)
    }
  }
}
