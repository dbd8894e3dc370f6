/**
 * While a node runs, an unhandled rejection from a dependency is logged and counted instead of ending
 * the process; once the last holder releases, Node's default handling is back.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { holdStrayErrorGuard, strayErrorCount } from '../../node/stray-errors.ts'

test('stray rejections are counted while held; the listener goes away with the last holder', async () => {
  const before = process.listenerCount('unhandledRejection')
  const releaseA = holdStrayErrorGuard()
  const releaseB = holdStrayErrorGuard()
  assert.is(process.listenerCount('unhandledRejection'), before + 1)
  const counted = strayErrorCount()
  void Promise.reject(new Error('TimeoutError inside a dependency'))
  await new Promise(resolve => setTimeout(resolve, 20))
  assert.is(strayErrorCount(), counted + 1)
  releaseA()
  releaseA()
  assert.is(process.listenerCount('unhandledRejection'), before + 1, 'one holder left')
  releaseB()
  assert.is(process.listenerCount('unhandledRejection'), before)
})

test.run()
