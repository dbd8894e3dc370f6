/**
 * Container job pricing, in millicredits: CPU-seconds and GB-seconds at the provider's prices. A bid
 * quotes the most the ordered limits can cost; the receipt charges what was used, never above the bid.
 */
import type { LeaseLimits, PriceTable } from '../protocol/index.ts'

export function maxJobPrice (limits: LeaseLimits, prices: PriceTable): number {
  const seconds = limits.wallMs / 1000
  return Math.ceil(prices.perCpuSecond * limits.cpus * seconds + prices.perGbSecond * (limits.memoryMb / 1024) * seconds)
}

export function chargedPrice (usage: { cpuMs: number, wallMs: number }, limits: LeaseLimits, prices: PriceTable, bid: number): number {
  const used = prices.perCpuSecond * usage.cpuMs / 1000 + prices.perGbSecond * (limits.memoryMb / 1024) * usage.wallMs / 1000
  return Math.min(bid, Math.ceil(used))
}

/** An inference bid: the declared prompt bound and every token it may generate, at the per-1K prices. */
export function maxInferencePrice (limits: LeaseLimits, prices: PriceTable): number {
  return Math.ceil(((limits.promptTokens ?? 0) * prices.per1kInputTokens + (limits.maxTokens ?? 0) * prices.per1kOutputTokens) / 1000)
}

/** What an inference lease costs: the tokens the meter counted (the prompt never above its bound), never above the bid. */
export function chargedInferencePrice (usage: { inputTokens: number, outputTokens: number }, limits: LeaseLimits, prices: PriceTable, bid: number): number {
  const input = Math.min(usage.inputTokens, limits.promptTokens ?? 0)
  return Math.min(bid, Math.ceil((input * prices.per1kInputTokens + usage.outputTokens * prices.per1kOutputTokens) / 1000))
}

/**
 * What the output counted so far costs (a usage tick's draw): its tokens at the per-1K output price,
 * never above the bid. The prompt is charged with the receipt, whose price is never below this.
 */
export function chargedOutputPrice (outputTokens: number, prices: PriceTable, bid: number): number {
  return Math.min(bid, Math.ceil(outputTokens * prices.per1kOutputTokens / 1000))
}
