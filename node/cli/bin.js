#!/usr/bin/env node
// The clawnode executable. Plain JavaScript that any Node can parse, so that on a Node older than 24
// it stops at once with a clear message instead of a syntax error deep inside a dependency.
import { existsSync } from 'node:fs'
import module from 'node:module'

const REQUIRED_MAJOR = 24
const major = Number(process.versions.node.split('.')[0])
if (!(major >= REQUIRED_MAJOR)) {
  process.stderr.write(
    'clawnode needs Node.js ' + REQUIRED_MAJOR + ' or newer, but this is Node.js ' + process.versions.node + '.\n' +
    'Install Node.js ' + REQUIRED_MAJOR + ' (https://nodejs.org/, or `nvm install ' + REQUIRED_MAJOR + '`), or run it through npm with\n' +
    '  npx -p node@' + REQUIRED_MAJOR + ' -p clawnode clawnode --help\n'
  )
  process.exit(1)
}

// Compiled code is cached between runs, which keeps `clawnode --help` fast.
if (typeof module.enableCompileCache === 'function') module.enableCompileCache()

// In a source checkout the TypeScript runs directly (Node strips the types); the published package
// carries the compiled JavaScript in dist/.
const source = new URL('./main.ts', import.meta.url)
const entry = existsSync(source) ? source.href : new URL('../../dist/node/cli/main.js', import.meta.url).href
const { main } = await import(entry)
process.exitCode = await main(process.argv.slice(2))
