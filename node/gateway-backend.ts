/**
 * The gateway's backend on the network: models are what providers announce under the generic
 * inference key (records fetched and verified, cached briefly, capped), listed by id and by family
 * (`family:llama`), and each completion is an inference lease (consumer.leaseInference: cheapest bid,
 * then direct and lower RTT; the next bidder when the chosen provider fails before the first token).
 * A request's model `family:<name>[@<minContext>]` leases by family; a prompt (legacy completions)
 * is leased as a raw prompt, which the provider's model continues with no chat template. What each
 * paid lease's usage ticks have countersigned is reported as it grows (onSpend), so that the gateway
 * counts it if the stream dies before its receipt. Errors keep the names the gateway maps.
 */
import { ClawnodeError } from '../protocol/index.ts'
import { NoProviderError } from './consumer-service.ts'
import { InvalidGatewayRequestError } from './gateway-request.ts'
import { familyModelId, InvalidModelFamilyError, modelFamily, parseModelSelector } from './model-family.ts'
import type { CapsService } from './caps-service.ts'
import type { Consumer, LeaseOptions } from './consumer-service.ts'
import type { GatewayModel, InferenceBackend } from './gateway.ts'

/** How long the model list is reused. */
export const MODEL_LIST_CACHE_MS = 10_000
/** Providers a model list is built from, at most. */
export const MAX_LISTED_PROVIDERS = 64

export class UnknownModelError extends ClawnodeError {
  static override name = 'UnknownModelError'
  constructor (model: string) {
    super(`No provider on the network offers the model ${JSON.stringify(model.slice(0, 100))}`, { hint: 'GET /v1/models lists the models on offer.' })
  }
}

export class PriceCeilingError extends ClawnodeError {
  static override name = 'PriceCeilingError'
  constructor (model: string, detail: string) {
    super(`No provider offers ${model} within the price ceiling: ${detail}`, { hint: 'Raise the ceiling (max_price, or the gateway\'s per-request limit), or ask for fewer tokens.' })
  }
}

/**
 * A completion stopped before its end (the client went away, or the request timed out): the lease was
 * cancelled and its receipt covers what was produced, which the gateway charges (`price`).
 */
export class CompletionCancelledError extends ClawnodeError {
  static override name = 'CompletionCancelledError'
  readonly price: number
  readonly completionTokens: number
  constructor (price: number, completionTokens: number, options: { cause?: unknown } = {}) {
    super(`The completion was cancelled after ${completionTokens} tokens; ${price} millicredits are owed for them`, { hint: 'Nothing to do: the receipt covers what was produced.', ...options })
    this.price = price
    this.completionTokens = completionTokens
  }
}

export interface NetworkBackendInit {
  consumer: Consumer
  caps: CapsService
  discoveryWindowMs?: number
  /** Every countersigned receipt, cancelled leases' included (the consumer's record of what it spent). */
  onReceipt?: LeaseOptions['onReceipt']
}

export function createNetworkBackend (init: NetworkBackendInit): InferenceBackend {
  let cached: { at: number, models: GatewayModel[] } | undefined
  const listModels = async ({ signal }: { signal: AbortSignal }): Promise<GatewayModel[]> => {
    if (cached !== undefined && Date.now() - cached.at < MODEL_LIST_CACHE_MS) return cached.models
    const records = await init.caps.discover({ kind: 'inference' }, { signal, limit: MAX_LISTED_PROVIDERS })
    const byId = new Map<string, GatewayModel>()
    const byFamily = new Map<string, GatewayModel>()
    const add = (into: Map<string, GatewayModel>, id: string, context: number, r: (typeof records)[number]): void => {
      const seen = into.get(id)
      const cheaper = seen === undefined || r.prices.per1kOutputTokens < seen.per1kOutputTokens
      into.set(id, {
        id,
        contextLength: Math.max(seen?.contextLength ?? 0, context),
        per1kInputTokens: cheaper ? r.prices.per1kInputTokens : seen.per1kInputTokens,
        per1kOutputTokens: cheaper ? r.prices.per1kOutputTokens : seen.per1kOutputTokens,
        providers: (seen?.providers ?? 0) + 1
      })
    }
    for (const r of records) {
      for (const m of r.models) add(byId, m.id, m.context, r)
      // A family counts each provider once, with its largest context in that family.
      const families = new Map<string, number>()
      for (const m of r.models) {
        const f = modelFamily(m.family ?? '')
        if (f !== '') families.set(f, Math.max(families.get(f) ?? 0, m.context))
      }
      for (const [f, context] of families) add(byFamily, familyModelId(f), context, r)
    }
    const byName = (a: GatewayModel, b: GatewayModel): number => a.id.localeCompare(b.id)
    const models = [...[...byId.values()].sort(byName), ...[...byFamily.values()].sort(byName)]
    cached = { at: Date.now(), models }
    return models
  }
  return {
    listModels,
    async complete (request, { signal, onText, onSpend }) {
      const decoder = new TextDecoder()
      let text = ''
      const emit = (piece: string): void => { if (piece !== '') { text += piece; onText(piece) } }
      const declines: string[] = []
      let cancelled: { price: number, outputTokens: number } | undefined
      let selector: ReturnType<typeof parseModelSelector>
      try {
        selector = parseModelSelector(request.model)
      } catch (err) {
        if (err instanceof InvalidModelFamilyError) throw new InvalidGatewayRequestError('model', err.message)
        throw err
      }
      let result
      try {
        result = await init.consumer.leaseInference({
          ...('model' in selector ? { model: selector.model } : { family: selector.family, minContext: selector.minContext }),
          ...('prompt' in request ? { prompt: request.prompt } : { messages: request.messages }),
          maxTokens: request.maxTokens,
          params: {
            ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
            ...(request.topP === undefined ? {} : { topP: request.topP }),
            ...(request.seed === undefined ? {} : { seed: request.seed }),
            ...(request.stop === undefined ? {} : { stop: request.stop })
          }
        }, {
          maxPrice: request.maxPrice,
          signal,
          ...(init.discoveryWindowMs === undefined ? {} : { discoveryWindowMs: init.discoveryWindowMs }),
          onOutput: (_stream, data) => { emit(decoder.decode(data, { stream: true })) },
          onExplain: (e) => { if (e.fate === 'declined') declines.push(e.detail) },
          // A paid lease's countersigned ticks: owed even if the stream dies before its receipt.
          onUsage: (u) => { if (u.price !== undefined) onSpend?.(u.price) },
          onReceipt: (r) => {
            if (r.info.status === 'cancelled') cancelled = { price: r.info.price, outputTokens: r.info.usage.outputTokens ?? 0 }
            init.onReceipt?.(r)
          }
        })
      } catch (err) {
        if (cancelled !== undefined) throw new CompletionCancelledError(cancelled.price, cancelled.outputTokens, { cause: err })
        if (err instanceof NoProviderError) {
          const listed = await listModels({ signal }).catch(() => [])
          const offered = 'model' in selector
            ? listed.some(m => m.id === selector.model)
            : listed.some(m => m.id === familyModelId(selector.family) && m.contextLength >= selector.minContext)
          if (!offered) throw new UnknownModelError(request.model)
          if (declines.length > 0 && declines.every(d => d === 'price-below-minimum')) throw new PriceCeilingError(request.model, `${declines.length} provider(s) quote more than ${request.maxPrice} millicredits`)
        }
        throw err
      }
      emit(decoder.decode())
      const r = result.receipt
      return {
        text,
        finishReason: (r.usage.outputTokens ?? 0) >= request.maxTokens ? 'length' : 'stop',
        usage: { promptTokens: r.usage.inputTokens ?? 0, completionTokens: r.usage.outputTokens ?? 0 },
        provider: result.provider.toString(),
        model: result.model,
        price: r.price
      }
    }
  }
}
