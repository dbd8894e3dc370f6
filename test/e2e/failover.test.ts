/**
 * A provider process killed with `kill -9` after it won the award, before the job printed anything:
 * the consumer awards the next bidder and the lease completes there. Restarted, the killed provider
 * keeps its peer id, records the interrupted run and removes the sandbox it left behind.
 */
import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createClawNode } from '../../node/index.ts'
import { startConsumerNode } from './consumer-node.ts'
import type { ExplainEntry } from '../../node/index.ts'
import { SANDBOX_LABEL } from '../../sandbox/index.ts'
import type { JobResult } from '../../sandbox/index.ts'
import { bounded, startNode, stopNode, tempDir, testDocker, testImage } from '../helpers.ts'

const pricing = (perCpuSecond: number): unknown => ({ provider: { prices: { perCpuSecond, perGbSecond: 0 } } })

test('a provider killed after the award: the next bidder is awarded and completes; the killed one recovers', bounded(180_000, async () => {
  const boot = await createClawNode({ dataDir: await tempDir() })
  await boot.start()
  const bootstrap = boot.getMultiaddrs().map(String)[0] ?? ''
  const cheap = await startNode(['--bootstrap', bootstrap], { config: pricing(1) })
  const dear = await startNode(['--bootstrap', bootstrap], { config: pricing(5) })
  // It pays as a node does by default: a deposit on the machine's local chain for each provider.
  const { caps, consumer, stop } = await startConsumerNode([bootstrap], { paying: true })
  let restarted: Awaited<ReturnType<typeof startNode>> | undefined
  try {
    for (let i = 0; i < 60; i++) {
      if ((await caps.discover({ kind: 'image', image: testImage() }, { signal: AbortSignal.timeout(8_000) })).length >= 2) break
      await new Promise(resolve => setTimeout(resolve, 250))
    }
    const explain: ExplainEntry[] = []
    let stdout = ''
    // The job prints only after 3 s; the cheap provider is killed as soon as its run directory exists.
    const killed = (async () => {
      const runs = join(cheap.data, 'runs')
      for (let i = 0; i < 300; i++) {
        // (A run directory appears whole, by a rename from a hidden staging name.)
        if ((await readdir(runs).catch(() => [])).some(n => !n.startsWith('.'))) { cheap.child.kill('SIGKILL'); return true }
        await new Promise(resolve => setTimeout(resolve, 50))
      }
      return false
    })()
    const result = await consumer.lease({ version: 1, image: testImage(), argv: ['sh', '-c', 'sleep 3; echo finished by the next bidder'], limits: { wallMs: 20_000, cpus: 1 } },
      { maxPrice: 1_000_000_000, artifactsDir: await tempDir(), onOutput: (_s, d) => { stdout += Buffer.from(d).toString() }, onExplain: (e) => { explain.push(e) } })
    assert.ok(await killed, 'the cheap provider got the award and was killed')
    assert.is(result.provider.toString(), dear.peerId)
    assert.is(stdout, 'finished by the next bidder\n')
    assert.is(result.receipt.status, 'succeeded')
    assert.is(explain.find(e => e.peer === cheap.peerId)?.fate, 'failed')
    await new Promise(resolve => cheap.child.exitCode !== null || cheap.child.signalCode !== null ? resolve(undefined) : cheap.child.once('exit', resolve))

    // Sandboxes of the killed provider may outlive it; its next start keeps the peer id, records the run
    // as interrupted and removes whatever it left.
    const docker = await testDocker()
    // Sandboxes carry a label naming their data dir (by hash).
    const ofCheap = async (): Promise<number> => (await docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=${createHash('sha256').update(cheap.data).digest('hex').slice(0, 16)}`] } })).length
    // (Whether one is left depends on how far the sandbox had got when the process died.)
    const [jobId = ''] = (await readdir(join(cheap.data, 'runs'))).filter(n => !n.startsWith('.'))
    restarted = await startNode(['--bootstrap', bootstrap], { data: cheap.data })
    assert.is(restarted.peerId, cheap.peerId)
    const recorded = JSON.parse(await readFile(join(cheap.data, 'runs', jobId, 'result.json'), 'utf8')) as JobResult
    assert.is(recorded.error?.name, 'RunInterruptedError')
    assert.is(await stopNode(restarted), 0)
    restarted = undefined
    assert.is(await ofCheap(), 0, 'no sandbox of the killed provider is left')
  } finally {
    await stop()
    if (restarted !== undefined) await stopNode(restarted)
    await stopNode(cheap, 'SIGKILL')
    assert.is(await stopNode(dear), 0)
    await boot.stop()
  }
}))

test.run()
