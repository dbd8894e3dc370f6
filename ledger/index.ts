/**
 * The provider ledger: durable usage records, Merkle batches and on-chain anchors. Filled in by the
 * ledger issue; the layer exists now so that imports run one way from the start.
 */
export const LEDGER_LAYER = 'ledger'
