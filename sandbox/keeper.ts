/**
 * The keeper: a static busybox from the host, mounted read-only into every sandbox. It holds the
 * sandbox open (so the job runs as an exec and the cgroup can still be read after the job ends) and
 * moves input files and artifacts in and out with tar, whatever the job's image contains. It has to be
 * static because images may hold no libc at all (`FROM scratch`).
 */
import { open, realpath } from 'node:fs/promises'
import { DEFAULT_KEEPER_CANDIDATES } from './constants.ts'
import { KeeperMissingError } from './errors.ts'

const PT_INTERP = 3

/** Whether an ELF file asks for a dynamic loader (PT_INTERP), i.e. is not static. */
async function isStaticElf (path: string): Promise<boolean> {
  const fh = await open(path, 'r')
  try {
    const head = Buffer.alloc(64)
    await fh.read(head, 0, 64, 0)
    if (head.readUInt32BE(0) !== 0x7f454c46) throw new KeeperMissingError(`${path} is not an ELF executable`)
    if (head[4] !== 2 || head[5] !== 1) throw new KeeperMissingError(`${path} is not a 64-bit little-endian ELF`)
    const phoff = Number(head.readBigUInt64LE(32))
    const phentsize = head.readUInt16LE(54)
    const phnum = head.readUInt16LE(56)
    if (phnum > 256 || phentsize < 8) throw new KeeperMissingError(`${path} has a malformed ELF header`)
    const table = Buffer.alloc(phentsize * phnum)
    await fh.read(table, 0, table.length, phoff)
    for (let i = 0; i < phnum; i++) {
      if (table.readUInt32LE(i * phentsize) === PT_INTERP) return false
    }
    return true
  } finally {
    await fh.close()
  }
}

/** Resolves the keeper binary: the configured path, or the first static busybox found. */
export async function resolveKeeper (configured?: string): Promise<string> {
  const candidates = configured === undefined ? DEFAULT_KEEPER_CANDIDATES : [configured]
  const problems: string[] = []
  for (const candidate of candidates) {
    try {
      const path = await realpath(candidate)
      if (await isStaticElf(path)) return path
      problems.push(`${candidate} is dynamically linked`)
    } catch (err) {
      if (err instanceof KeeperMissingError) problems.push(err.message.replace(/^.*?: /, ''))
      else problems.push(`${candidate} not found`)
    }
  }
  throw new KeeperMissingError(problems.join('; '))
}
