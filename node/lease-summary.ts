/**
 * The plain-data summary of a finished lease, shared by `clawnode lease --json` and the control API.
 */
import type { LeaseResult } from './consumer-service.ts'

/** The plain-data summary of a lease, as `clawnode lease --json` prints it and the control API sends it. */
export function leaseSummary (result: LeaseResult & { model?: string }, artifactsDir?: string): Record<string, unknown> {
  const r = result.receipt
  return {
    provider: result.provider.toString(),
    ...(result.model === undefined ? {} : { model: result.model }),
    status: r.status,
    usage: r.usage,
    price: r.price,
    connectivity: result.bid.connectivity,
    rttMs: result.bid.rttMs,
    artifacts: result.artifacts,
    ...(artifactsDir === undefined ? {} : { artifactsDir }),
    // How it was paid: the draw on the consumer's escrow deposit both sides signed (null: unpaid).
    payment: r.draw === undefined ? null : { depositId: r.draw.depositId.toString(), cumulative: r.draw.cumulative.toString() },
    receipt: Buffer.from(result.receiptBytes).toString('base64')
  }
}
