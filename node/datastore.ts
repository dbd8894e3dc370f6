/**
 * The node's datastore (peer store, DHT records): LevelDB in the data dir. libp2p keeps writing for a
 * moment after it has stopped (peer-store updates from in-flight identify and ping), and a write to a
 * closed LevelDB throws where nobody catches it, which would end the process. So once closed, this
 * wrapper drops late writes (they describe a node that is gone) and answers reads as empty.
 */
import { logger } from '@libp2p/logger'
import { LevelDatastore } from 'datastore-level'

const log = logger('clawnode:datastore')

export interface NodeDatastore {
  datastore: LevelDatastore
  open: () => Promise<void>
  close: () => Promise<void>
}

async function * none (): AsyncGenerator<never> {}

export function createNodeDatastore (path: string): NodeDatastore {
  const level = new LevelDatastore(path)
  let closed = false
  const late: Record<string, (...args: unknown[]) => unknown> = {
    put: async (key: unknown) => { log('dropped a write after close'); return key },
    delete: async () => {},
    has: async () => false,
    get: async () => { throw Object.assign(new Error('the datastore is closed'), { name: 'NotFoundError' }) },
    batch: () => ({ put () {}, delete () {}, commit: async () => {} }),
    putMany: none,
    deleteMany: none,
    getMany: none,
    query: none,
    queryKeys: none
  }
  const datastore = new Proxy(level, {
    get (target, prop, receiver) {
      if (closed && typeof prop === 'string' && prop in late) return late[prop]
      const value = Reflect.get(target, prop, receiver) as unknown
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    }
  })
  return {
    datastore,
    async open () { await level.open(); closed = false },
    async close () { closed = true; await level.close() }
  }
}
