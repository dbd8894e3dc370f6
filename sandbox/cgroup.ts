/**
 * Reads a sandbox's usage from the host cgroup its processes live in (cgroup v1 or v2). Under gVisor
 * the sandbox's cgroup holds the sentry, the gofer and the job's stub processes, so CPU and memory
 * here are what the job really cost the host, gVisor's overhead included. The cgroup disappears when
 * the container stops, so the runner samples it while the job runs and reads it once more at the end.
 */
import { readFile, writeFile } from 'node:fs/promises'

export interface CgroupSample {
  /** Total CPU time in ns since the cgroup was created. */
  cpuNs: number
  memoryBytes: number
  /** Peak memory since creation or the last reset. */
  memoryPeakBytes: number
  /** Number of OOM kills seen in this cgroup. */
  oomKills: number
  /** Times the memory limit was hit (v1 failcnt, v2 memory.events max). */
  memoryLimitHits: number
  pids: number
}

export interface CgroupPaths {
  version: 1 | 2
  cpu: string
  memory: string
  pids: string
}

interface Mount { root: string, point: string, type: string, options: string[] }

async function readMounts (): Promise<Mount[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8')
  const mounts: Mount[] = []
  for (const line of text.split('\n')) {
    const [left, right] = line.split(' - ')
    if (left === undefined || right === undefined) continue
    const fields = left.split(' ')
    const [type, , superOptions] = right.split(' ')
    if (type !== 'cgroup' && type !== 'cgroup2') continue
    mounts.push({ root: fields[3] ?? '/', point: fields[4] ?? '', type, options: (superOptions ?? '').split(',') })
  }
  return mounts
}

function join (mount: Mount, path: string): string {
  // A mount whose root is not "/" (inside a container) shows paths relative to that root.
  const rel = mount.root !== '/' && path.startsWith(mount.root) ? path.slice(mount.root.length) : path
  return mount.point + (rel.startsWith('/') ? rel : '/' + rel)
}

/** Finds the cgroup directories of a host process (the container's State.Pid). */
export async function findCgroup (pid: number): Promise<CgroupPaths> {
  const [text, mounts] = await Promise.all([readFile(`/proc/${pid}/cgroup`, 'utf8'), readMounts()])
  const v1 = new Map<string, string>()
  let unified: string | undefined
  for (const line of text.trim().split('\n')) {
    const first = line.indexOf(':')
    const second = line.indexOf(':', first + 1)
    const controllers = line.slice(first + 1, second)
    const path = line.slice(second + 1)
    if (controllers === '') unified = path
    else for (const c of controllers.split(',')) v1.set(c, path)
  }
  const v1Dir = (controller: string): string | undefined => {
    const path = v1.get(controller)
    const mount = mounts.find(m => m.type === 'cgroup' && m.options.includes(controller))
    return path === undefined || mount === undefined ? undefined : join(mount, path)
  }
  const cpu = v1Dir('cpuacct')
  const memory = v1Dir('memory')
  const pids = v1Dir('pids')
  if (cpu !== undefined && memory !== undefined && pids !== undefined) return { version: 1, cpu, memory, pids }
  const mount2 = mounts.find(m => m.type === 'cgroup2')
  if (unified !== undefined && mount2 !== undefined) {
    const dir = join(mount2, unified)
    return { version: 2, cpu: dir, memory: dir, pids: dir }
  }
  throw new Error(`no cpu, memory and pids cgroup found for pid ${pid}`)
}

async function num (path: string): Promise<number> {
  const text = (await readFile(path, 'utf8')).trim()
  return text === 'max' ? Infinity : Number(text)
}

function field (text: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(text)
  return m?.[1] === undefined ? 0 : Number(m[1])
}

export async function readCgroup (paths: CgroupPaths): Promise<CgroupSample> {
  if (paths.version === 1) {
    const [cpuNs, memoryBytes, memoryPeakBytes, oom, memoryLimitHits, pids] = await Promise.all([
      num(`${paths.cpu}/cpuacct.usage`),
      num(`${paths.memory}/memory.usage_in_bytes`),
      num(`${paths.memory}/memory.max_usage_in_bytes`),
      readFile(`${paths.memory}/memory.oom_control`, 'utf8'),
      num(`${paths.memory}/memory.failcnt`),
      num(`${paths.pids}/pids.current`)
    ])
    return { cpuNs, memoryBytes, memoryPeakBytes, oomKills: field(oom, 'oom_kill'), memoryLimitHits, pids }
  }
  const [cpuStat, memoryBytes, memoryPeakBytes, events, pids] = await Promise.all([
    readFile(`${paths.cpu}/cpu.stat`, 'utf8'),
    num(`${paths.memory}/memory.current`),
    num(`${paths.memory}/memory.peak`).catch(() => 0),
    readFile(`${paths.memory}/memory.events`, 'utf8'),
    num(`${paths.pids}/pids.current`)
  ])
  return {
    cpuNs: field(cpuStat, 'usage_usec') * 1000,
    memoryBytes,
    memoryPeakBytes: Math.max(memoryPeakBytes, memoryBytes),
    oomKills: field(events, 'oom_kill'),
    memoryLimitHits: field(events, 'max'),
    pids
  }
}

/**
 * Resets the peak-memory counter so it measures one job rather than the sandbox's whole life. Works
 * on cgroup v1 as root; elsewhere the peak includes the idle sandbox, which is small.
 */
export async function resetPeak (paths: CgroupPaths): Promise<boolean> {
  if (paths.version !== 1) return false
  try {
    await writeFile(`${paths.memory}/memory.max_usage_in_bytes`, '0')
    return true
  } catch {
    return false
  }
}
