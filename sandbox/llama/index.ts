/**
 * The inference runner's public face: the model registry with its GGUF checks, models loaded in
 * their own processes with their memory estimated and measured, and GPU detection. Separate from
 * sandbox/index.ts so that container-only code never loads node-llama-cpp.
 */
export { scanModels, MODELS_DIR, MAX_MODEL_FILES } from './registry.ts'
export type { ModelRegistry, RegisteredModel, BrokenModel } from './registry.ts'
export { inspectModelFile, BrokenModelError } from './model-file.ts'
export type { ModelFileInfo } from './model-file.ts'
export { loadModel, defaultThreads, ModelCrashedError, ModelLoadError, ModelClosedError } from './runner.ts'
export type { LoadedModel, LoadModelOptions, ChatOptions, ChatMessage, GenerationInput, TextPrompt, SamplingParams, Completion } from './runner.ts'
export * from './constants.ts'
export { estimateModelMemory, readResidentBytes, ModelTooLargeError } from './memory.ts'
export type { ModelShape, ModelMemoryInput } from './memory.ts'
export { detectGpu, probeGpu, describeGpu } from './gpu.ts'
export { openProbeStore, isFileFault, fileDigest, ModelProbeFailedError, PROBE_FILE } from './probe-store.ts'
export type { ProbeStore, ProbeResult, ProbePhase } from './probe-store.ts'
export type { GpuBackend, GpuDevice, GpuDetection } from './gpu.ts'
