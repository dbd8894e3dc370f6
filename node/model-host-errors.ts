/**
 * The model host's errors (node/model-host.ts), each with what the consumer or operator does next.
 */
import { ClawnodeError } from '../protocol/index.ts'

export class ModelNotServedError extends ClawnodeError {
  static override name = 'ModelNotServedError'
  constructor (id: string) {
    super(`This node does not offer the model ${id}`, { hint: 'Ask for one of the models in its capability record.' })
  }
}

export class ModelMemoryBusyError extends ClawnodeError {
  static override name = 'ModelMemoryBusyError'
  constructor (id: string, waitedMs: number) {
    super(`The model ${id} does not fit beside the models serving requests now (waited ${waitedMs} ms for one to finish)`, {
      retryable: true,
      hint: 'Try again shortly; the operator can raise provider.modelMemoryMb so that more models stay loaded at once.'
    })
  }
}

export class ModelProbeTimeoutError extends ClawnodeError {
  static override name = 'ModelProbeTimeoutError'
  constructor (id: string, ms: number) {
    super(`Probing the model ${id} took longer than ${ms} ms`, { hint: 'The machine may be too loaded or too small for it: it is probed again at the next start.' })
  }
}

export class ModelHostClosedError extends ClawnodeError {
  static override name = 'ModelHostClosedError'
  constructor () {
    super('The node is stopping: its models are closed', { retryable: true, hint: 'Try another provider.' })
  }
}
