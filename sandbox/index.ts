/**
 * The sandbox layer: JobSpecs, the gVisor container runner with its warm pool, the image allowlist,
 * and the run directory of every job.
 */
export * from './constants.ts'
export * from './errors.ts'
export { validateJobSpec, checkInputPath } from './job-spec.ts'
export type { JobSpec, JobLimits, JobPolicy, InputFile, Bytes, ValidatedJob } from './job-spec.ts'
export type { JobResult, JobStatus, JobUsage } from './result.ts'
export type { Artifact } from './files.ts'
export type { OutputStream } from './demux.ts'
export { createDemuxer, DemuxError } from './demux.ts'
export { createSandboxRunner, newJobId } from './runner.ts'
export type { SandboxRunner, SandboxRunnerInit, JobRunOptions, JobProgressEvent, PoolProfileInit } from './runner.ts'
export { createDocker, pingDocker, dockerSocketPath } from './docker.ts'
export type { Docker } from './docker.ts'
export { resolveKeeper } from './keeper.ts'
export { containerOptions, hostPidsLimit, profileOf, removeLeftoverSandboxes } from './sandbox.ts'
export { allowImage, denyImage, readAllowlist, isImageAllowed, allowlistPath, normaliseImageId, AllowlistCorruptError } from './allowlist.ts'
export type { AllowedImage } from './allowlist.ts'
export { importImageArchive, listLocalImages, ImageImportError } from './images.ts'
export type { LocalImage, ImportProgress } from './images.ts'
export { writeFileAtomic } from './atomic-file.ts'
export { findCgroup, readCgroup } from './cgroup.ts'
export { buildBusyboxArchive, BUSYBOX_IMAGE_TAG } from './image-archive.ts'
export { probeRuntime, ensureProbeImage } from './probe.ts'
export type { RuntimeProbe } from './probe.ts'
export { jobSpecSchema } from './schema.ts'
export { createTarEndDetector } from './tar-end.ts'
export { RunInterruptedError } from './recovery.ts'
export { collectArtifacts, putInputs } from './files.ts'
export type { Sandbox, SandboxProfile } from './sandbox.ts'

// Inference (sandbox/llama): node-llama-cpp is loaded on first use only, so container-only code and
// `clawnode --help` never pay for it.
export type { ModelRegistry, RegisteredModel, BrokenModel, ModelFileInfo, LoadedModel, LoadModelOptions, ChatMessage, SamplingParams, Completion, ModelShape, GpuBackend, GpuDevice, GpuDetection } from './llama/index.ts'
// These two never load node-llama-cpp here: the estimate is pure, and the GPU probe runs in a child.
export { estimateModelMemory, readResidentBytes, ModelTooLargeError } from './llama/memory.ts'
export { detectGpu, describeGpu } from './llama/gpu.ts'
export { DEFAULT_CONTEXT_SIZE, MAX_MODEL_THREADS, MODEL_PROBE_TIMEOUT_MS } from './llama/constants.ts'
// Probe results (<data>/model-probes.json): plain file I/O, no node-llama-cpp.
export { openProbeStore, isFileFault, fileDigest, ModelProbeFailedError, PROBE_FILE } from './llama/probe-store.ts'
export type { ProbeStore, ProbeResult, ProbePhase } from './llama/probe-store.ts'
export async function scanModels (...args: Parameters<typeof import('./llama/index.ts').scanModels>): ReturnType<typeof import('./llama/index.ts').scanModels> {
  return await (await import('./llama/index.ts')).scanModels(...args)
}
export async function loadModel (...args: Parameters<typeof import('./llama/index.ts').loadModel>): ReturnType<typeof import('./llama/index.ts').loadModel> {
  return await (await import('./llama/index.ts')).loadModel(...args)
}
