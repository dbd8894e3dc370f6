/**
 * The inference runner's public face: the model registry and GGUF checks (loading and generation come
 * next). Separate from sandbox/index.ts so that container-only code never loads node-llama-cpp.
 */
export { scanModels, MODELS_DIR, MAX_MODEL_FILES } from './registry.ts'
export type { ModelRegistry, RegisteredModel, BrokenModel } from './registry.ts'
export { inspectModelFile, BrokenModelError } from './model-file.ts'
export type { ModelFileInfo } from './model-file.ts'
