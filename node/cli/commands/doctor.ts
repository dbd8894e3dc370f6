import { runDoctor } from '../../doctor.ts'
import { ensureDataDir } from '../../data-dir.ts'
import { loadConfig } from '../../config.ts'
import { parseCommandArgs } from '../context.ts'
import { EXIT } from '../errors.ts'
import type { Command } from '../main.ts'

export const command: Command = {
  summary: 'Check Node, Docker, gVisor, the sandbox helper, the data dir and disk space; print the fix for each problem',
  usage: 'clawnode doctor [--docker-socket <path>] [--runtime runsc|runc] [--json] [--data <dir>]',
  async run (ctx, args) {
    const { values } = parseCommandArgs(args, { 'docker-socket': { type: 'string' }, runtime: { type: 'string' } })
    await ensureDataDir(ctx.dataDir)
    const config = await loadConfig(ctx.dataDir)
    const runtime = values.runtime ?? config.sandbox.runtime
    const checks = await runDoctor({
      dataDir: ctx.dataDir,
      signal: ctx.signal,
      ...(runtime === undefined ? {} : { runtime }),
      ...(config.sandbox.keeper === undefined ? {} : { keeper: config.sandbox.keeper }),
      ...(values['docker-socket'] === undefined ? {} : { socketPath: values['docker-socket'] })
    })
    const ok = checks.every(c => c.ok)
    if (ctx.json) {
      ctx.stdout(JSON.stringify({ ok, checks }, null, 2) + '\n')
    } else {
      for (const c of checks) {
        ctx.stdout(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}\n`)
        if (!c.ok && c.fix !== undefined) ctx.stdout(`    fix: ${c.fix}\n`)
      }
      ctx.stdout(ok ? '\nAll checks passed.\n' : `\n${checks.filter(c => !c.ok).length} check(s) failed.\n`)
    }
    return ok ? EXIT.ok : EXIT.failure
  }
}
