/**
 * Builds image archives offline, with no registry and no `docker build`: a `docker save`-format tar
 * with one layer holding the host's static busybox and its applet links, written byte-for-byte
 * reproducibly (fixed timestamps, sorted entries), so the image ID is the same on every host that has
 * the same busybox. Used for test and example images and for `clawnode doctor`'s gVisor probe.
 */
import { createHash } from 'node:crypto'
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import * as tar from 'tar-stream'
import { resolveKeeper } from './keeper.ts'

export const BUSYBOX_IMAGE_TAG = 'clawnode/busybox:local'

const EPOCH = new Date(0)

async function tarOf (entries: Array<Partial<tar.Header> & { name: string, data?: Buffer }>): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c) => { chunks.push(c as Buffer) })
  const done = new Promise<void>((resolve, reject) => { pack.on('end', resolve); pack.on('error', reject) })
  for (const { data, ...header } of entries) {
    const full = { mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '', ...header }
    if (data === undefined) pack.entry(full)
    else pack.entry(full, data)
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex')

/** The busybox image as a `docker save` archive, with its (deterministic) image ID. */
export async function buildBusyboxArchive (keeper?: string): Promise<{ archive: Buffer, id: string, tag: string }> {
  const busybox = await resolveKeeper(keeper)
  const binary = await readFile(busybox)
  const applets = (await promisify(execFile)(busybox, ['--list'], { encoding: 'utf8' })).stdout.split('\n').filter(a => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox').sort()
  const layer = await tarOf([
    { name: 'bin', type: 'directory', mode: 0o755 },
    { name: 'bin/busybox', mode: 0o755, data: binary },
    ...applets.map(a => ({ name: `bin/${a}`, type: 'symlink' as const, linkname: 'busybox', mode: 0o777 })),
    { name: 'etc', type: 'directory', mode: 0o755 },
    { name: 'etc/group', mode: 0o644, data: Buffer.from('root:x:0:\nnogroup:x:65534:\n') },
    { name: 'etc/passwd', mode: 0o644, data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n') },
    { name: 'in', type: 'directory', mode: 0o755 },
    { name: 'out', type: 'directory', mode: 0o755 },
    { name: 'tmp', type: 'directory', mode: 0o1777 }
  ])
  const layerId = sha256(layer)
  const arch = process.arch === 'x64' ? 'amd64' : process.arch
  const config = JSON.stringify({
    architecture: arch,
    os: 'linux',
    created: EPOCH.toISOString(),
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'], WorkingDir: '/' },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerId}`] },
    history: [{ created: EPOCH.toISOString(), created_by: 'clawnode scripts/build-images.ts: static busybox' }]
  })
  const configId = sha256(config)
  const tag = BUSYBOX_IMAGE_TAG
  const archive = await tarOf([
    { name: `${layerId}`, type: 'directory', mode: 0o755 },
    { name: `${layerId}/layer.tar`, mode: 0o644, data: layer },
    { name: `${configId}.json`, mode: 0o644, data: Buffer.from(config) },
    { name: 'manifest.json', mode: 0o644, data: Buffer.from(JSON.stringify([{ Config: `${configId}.json`, RepoTags: [tag], Layers: [`${layerId}/layer.tar`] }])) }
  ])
  return { archive, id: `sha256:${configId}`, tag }
}

