/**
 * A node must survive errors its dependencies raise outside any await of ours (a 50-node run died of
 * a TimeoutError rejected inside libp2p with nobody listening). While at least one node runs in the
 * process, unhandled rejections are logged (`clawnode:stray`) and counted instead of ending the
 * process; when the last node stops, Node's default behaviour is back. An application that installs
 * its own 'unhandledRejection' listener keeps it: ours only logs.
 */
import { logger } from '@libp2p/logger'

const log = logger('clawnode:stray')

let holders = 0
let count = 0
const onRejection = (reason: unknown): void => {
  count++
  log.error('an error inside a dependency was not handled by it (the node keeps serving): %e', reason)
}

/** Starts guarding (counted per holder); the returned function releases this hold, once. */
export function holdStrayErrorGuard (): () => void {
  if (holders++ === 0) process.on('unhandledRejection', onRejection)
  let released = false
  return () => {
    if (released) return
    released = true
    if (--holders === 0) process.off('unhandledRejection', onRejection)
  }
}

/** How many stray rejections were logged in this process. */
export function strayErrorCount (): number {
  return count
}
