/**
 * Builds the test and example images offline (see sandbox/image-archive.ts): the archive goes to
 * `.images/`, is loaded into Docker and its ID recorded in `.images/images.json` for tests,
 * benchmarks and `npm start`.
 *
 * Usage: node scripts/build-images.ts [--no-load]
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildBusyboxArchive, createDocker, importImageArchive } from '../sandbox/index.ts'

const root = join(import.meta.dirname, '..')
const outDir = join(root, '.images')
export interface BuiltImages {
  busybox: { id: string, tag: string, archive: string }
}

export async function buildImages (options: { load?: boolean } = {}): Promise<BuiltImages> {
  await mkdir(outDir, { recursive: true })
  const { archive, id, tag } = await buildBusyboxArchive()
  const archivePath = join(outDir, 'busybox.tar')
  await writeFile(archivePath, archive)
  if (options.load !== false) {
    const docker = await createDocker()
    const loaded = await importImageArchive(docker, archivePath)
    if (!loaded.includes(id)) throw new Error(`Docker loaded ${loaded.join(', ')}, expected ${id}`)
  }
  const images: BuiltImages = { busybox: { id, tag, archive: archivePath } }
  await writeFile(join(outDir, 'images.json'), JSON.stringify(images, null, 2) + '\n')
  return images
}

if (import.meta.main) {
  const images = await buildImages({ load: !process.argv.includes('--no-load') })
  process.stdout.write(`built ${images.busybox.tag} ${images.busybox.id}\n  archive: ${images.busybox.archive}\n`)
}
