/**
 * The gateway's last fallback: when the network gives no provider for a request (none found, none
 * within the price ceiling, or every bidder failed before its first token), the completion comes from
 * a model of this node's own, through its ModelHost. The answer names the provider `local`; usage is
 * the model's own token meter, and no credits are spent.
 */
import { logger } from '@libp2p/logger'
import { ClawnodeError } from '../protocol/index.ts'
import type { InferenceBackend, InferenceBackendRequest, InferenceBackendResult } from './gateway.ts'
import type { ModelHost } from './model-host.ts'

const log = logger('clawnode:gateway')

/** The provider a locally served answer names (`provider` field, `x-clawnode-provider` header). */
export const LOCAL_PROVIDER = 'local'
/** The backend's errors that mean "nobody on the network served it, and nothing was delivered". */
const NO_NETWORK_PROVIDER = new Set(['NoProviderError', 'UnknownModelError', 'PriceCeilingError'])

export class LocalFallbackModelError extends ClawnodeError {
  static override name = 'LocalFallbackModelError'
  constructor (model: string, offered: string[]) {
    super(`The local fallback model ${JSON.stringify(model)} is not one of this node's models (${offered.length === 0 ? 'it has none' : `it has ${offered.slice(0, 8).join(', ')}`})`, {
      hint: 'Put the GGUF file in <data>/models (clawnode doctor checks it), or name one of the models listed, in --local-fallback or gateway.localFallback.'
    })
  }
}

/** The local fallback model failed its probe (it aborts llama.cpp at load or at the first decode). */
export class LocalFallbackBrokenError extends ClawnodeError {
  static override name = 'LocalFallbackBrokenError'
  constructor (model: string, failure: { message: string, hint: string }) {
    super(`The local fallback model ${JSON.stringify(model)} failed its probe: ${failure.message}`, { hint: failure.hint })
  }
}

export interface LocalFallbackInit {
  /** The network's backend, asked first. */
  network: InferenceBackend
  /** This node's models. */
  models: ModelHost
  /** The model id that answers when the network does not. */
  model: string
}

/** The network's backend with a local model behind it. Throws LocalFallbackModelError if the host lacks the model. */
export function withLocalFallback (init: LocalFallbackInit): InferenceBackend {
  if (!init.models.has(init.model)) throw new LocalFallbackModelError(init.model, init.models.offered().map(m => m.id))
  return {
    listModels: init.network.listModels,
    async complete (request, options) {
      let delivered = false
      try {
        return await init.network.complete(request, { ...options, onText: (text) => { delivered = true; options.onText(text) } })
      } catch (err) {
        // After text has reached the client, a second model would mix two answers.
        if (delivered || options.signal.aborted || !NO_NETWORK_PROVIDER.has((err as Error).name)) throw err
        log('no provider on the network for %s (%s); serving it from the local model %s', request.model, (err as Error).name, init.model)
        return await completeLocally(init.models, init.model, request, options)
      }
    }
  }
}

/**
 * The gateway's backend: the network's alone, or with the named local model behind it (from `models`,
 * this node's; none there is a LocalFallbackModelError).
 */
export function gatewayBackend (network: InferenceBackend, local: { models?: ModelHost | undefined, model?: string | undefined } = {}): InferenceBackend {
  if (local.model === undefined) return network
  if (local.models === undefined) throw new LocalFallbackModelError(local.model, [])
  return withLocalFallback({ network, models: local.models, model: local.model })
}

/** One completion from a local model: streamed through onText, aborted by the signal. */
export async function completeLocally (models: ModelHost, id: string, request: InferenceBackendRequest, options: { signal: AbortSignal, onText: (text: string) => void }): Promise<InferenceBackendResult> {
  const { signal } = options
  const model = await models.get(id, { signal })
  const completion = await model.chat('prompt' in request ? { prompt: request.prompt } : request.messages, {
    maxTokens: request.maxTokens,
    ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
    ...(request.topP === undefined ? {} : { topP: request.topP }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    ...(request.stop === undefined ? {} : { stop: request.stop })
  }, { signal, onText: (text) => { if (text !== '') options.onText(text) } })
  // An aborted generation ends normally (stop reason 'abort'): the request is over, not answered.
  signal.throwIfAborted()
  return {
    text: completion.text,
    finishReason: completion.usage.completionTokens >= request.maxTokens ? 'length' : 'stop',
    usage: completion.usage,
    provider: LOCAL_PROVIDER,
    model: id,
    price: 0
  }
}
