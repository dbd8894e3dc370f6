/**
 * Limits and defaults of the inference runner (sandbox/llama). Listed in LIMITS.md.
 */

/** How long loading a model may take before the child is killed. */
export const MODEL_LOAD_TIMEOUT_MS = 120_000
export const DEFAULT_CONTEXT_SIZE = 2048
/** node-llama-cpp's default batch size (getDefaultContextBatchSize): min(context, 512). */
export const DEFAULT_BATCH_SIZE = 512
/**
 * Generated text goes from the model process to the node at most once per this window (the first
 * piece, and a piece later than that, at once): a message per several tokens of a fast model instead
 * of one per token. 16 ms is one display frame. On the bench model (~2 ms a token, 2 vCPUs) the gateway
 * reached 0.90 of the model process's tokens/s with 4 ms, 0.93 with 8 ms, 0.95 with 16 ms (scripts/bench-inference.ts;
 * the model process runs at 0.99 to 1.0 of node-llama-cpp called in process).
 */
export const DEFAULT_TEXT_BATCH_MS = 16
/** How long a closing model process gets to exit before it is killed. */
export const MODEL_CLOSE_TIMEOUT_MS = 5_000

/**
 * Resident memory of a model process besides its model and context: Node.js, node-llama-cpp and the
 * llama.cpp CPU backend. Measured (VmRSS, x64 Linux): about 125 MB after loading the 3.4 MB test
 * model, 135 MB after its first chat.
 */
export const MODEL_PROCESS_OVERHEAD_BYTES = 128 * 1024 * 1024

/**
 * How long a model's probe may take, loading and decoding one token together (then its process is
 * killed and the model is not offered this run; it is probed again at the next start).
 */
export const MODEL_PROBE_TIMEOUT_MS = 180_000
/** Probe results kept in <data>/model-probes.json (the oldest go first), and the file's size read at most. */
export const MAX_PROBE_RESULTS = 1024
export const MAX_PROBE_FILE_BYTES = 4 * 1024 * 1024
/** Characters of a failure's message kept in a probe result. */
export const MAX_PROBE_MESSAGE_LENGTH = 500
/** Inference threads a model process may be given (provider.modelThreads). */
export const MAX_MODEL_THREADS = 256

/** How long the GPU probe (a child process loading node-llama-cpp's backends) may take. */
export const GPU_PROBE_TIMEOUT_MS = 60_000
/** GPU devices reported, at most (a capability record holds 16: MAX_RECORD_GPUS). */
export const MAX_GPU_DEVICES = 16
/** Characters of a GPU device name kept. */
export const MAX_GPU_NAME_LENGTH = 128
