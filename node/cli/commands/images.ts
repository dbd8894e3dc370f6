import { ensureDataDir } from '../../data-dir.ts'
import {
  allowImage, createDocker, denyImage, importImageArchive, listLocalImages, normaliseImageId, pingDocker, readAllowlist
} from '../../../sandbox/index.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT, UsageError } from '../errors.ts'
import { progressBar } from '../progress.ts'
import type { Command } from '../main.ts'

export const command: Command = {
  summary: 'Import image archives and manage which image IDs this provider runs',
  usage: [
    'clawnode images import <archive.tar> [--allow]   load a `docker save` archive (no registry needed)',
    '       clawnode images allow <image-id> [--note <text>]   let jobs use this image',
    '       clawnode images deny <image-id>                    stop allowing it',
    '       clawnode images list                               local images and the allowlist'
  ].join('\n'),
  async run (ctx, args) {
    const { values, positionals } = parseCommandArgs(args, { allow: { type: 'boolean' }, note: { type: 'string' } })
    const [sub, target] = positionals
    await ensureDataDir(ctx.dataDir)
    const print = (human: string, data: unknown): void => { ctx.stdout(ctx.json ? JSON.stringify(data, null, 2) + '\n' : human) }
    switch (sub) {
      case 'import': {
        if (target === undefined) throw new UsageError('images import needs the archive path')
        const docker = await createDocker()
        await pingDocker(docker, { signal: ctx.signal })
        const bar = ctx.json ? undefined : progressBar(ctx.stderr, 'importing')
        const ids = await importImageArchive(docker, target, { signal: ctx.signal, ...(bar === undefined ? {} : { onProgress: (e) => { bar.update(e.detail.bytes, e.detail.total) } }) })
        bar?.done()
        if (values.allow === true) for (const id of ids) await allowImage(ctx.dataDir, id, `imported from ${target}`)
        print(ids.map(id => `${id}${values.allow === true ? ' (allowed)' : ''}\n`).join('') + (values.allow === true ? '' : 'Allow it with: clawnode images allow <image-id>\n'), { imported: ids, allowed: values.allow === true })
        return EXIT.ok
      }
      case 'allow': {
        if (target === undefined) throw new UsageError('images allow needs an image ID')
        const images = await allowImage(ctx.dataDir, target, values.note ?? '')
        print(`allowed ${normaliseImageId(target)}\n`, { allowed: images })
        return EXIT.ok
      }
      case 'deny': {
        if (target === undefined) throw new UsageError('images deny needs an image ID')
        const images = await denyImage(ctx.dataDir, target)
        print(`denied ${normaliseImageId(target)}\n`, { allowed: images })
        return EXIT.ok
      }
      case 'list': {
        const allowed = await readAllowlist(ctx.dataDir)
        let local: Awaited<ReturnType<typeof listLocalImages>> | undefined
        let dockerError: string | undefined
        try {
          const docker = await createDocker()
          await pingDocker(docker, { signal: ctx.signal })
          local = await listLocalImages(docker, { signal: ctx.signal })
        } catch (err) { dockerError = (err as Error).message }
        const rows = allowed.map(a => {
          const l = local?.find(i => i.id === a.id)
          return { id: a.id, allowed: true, present: local === undefined ? null : l !== undefined, tags: l?.tags ?? [], note: a.note }
        })
        for (const l of local ?? []) if (!allowed.some(a => a.id === l.id)) rows.push({ id: l.id, allowed: false, present: true, tags: l.tags, note: '' })
        const human = rows.map(r => `${r.allowed ? 'allowed' : '       '} ${r.present === false ? 'missing' : '       '} ${r.id} ${r.tags.join(',')}\n`).join('') +
          (dockerError === undefined ? '' : `(Docker not reachable: ${dockerError}; showing the allowlist only)\n`)
        print(rows.length === 0 ? 'No images. Import one with: clawnode images import <archive.tar> --allow\n' : human, { images: rows, dockerError: dockerError ?? null })
        return EXIT.ok
      }
      default:
        throw new UsageError(sub === undefined ? 'images needs a subcommand: import, allow, deny or list' : `Unknown images subcommand "${sub}"`, 'Run `clawnode images --help`.')
    }
  }
}
