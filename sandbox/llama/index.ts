/**
 * The inference runner's public face: the model registry with its GGUF checks, and models loaded in
 * their own processes. Separate from sandbox/index.ts so that container-only code never loads
 * node-llama-cpp.
 */
export { scanModels, MODELS_DIR, MAX_MODEL_FILES } from './registry.ts'
export type { ModelRegistry, RegisteredModel, BrokenModel } from './registry.ts'
export { inspectModelFile, BrokenModelError } from './model-file.ts'
export type { ModelFileInfo } from './model-file.ts'
export { loadModel, defaultThreads, ModelCrashedError, ModelLoadError, MODEL_LOAD_TIMEOUT_MS, DEFAULT_CONTEXT_SIZE } from './runner.ts'
export type { LoadedModel, ChatMessage, SamplingParams, Completion } from './runner.ts'
