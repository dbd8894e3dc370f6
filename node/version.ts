/** The installed clawnode version, read from package.json (found from the sources or from dist/). */
import { readFileSync } from 'node:fs'

export function clawnodeVersion (): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string, version: string }
      if (pkg.name === 'clawnode') return pkg.version
    } catch {}
  }
  return 'unknown'
}
