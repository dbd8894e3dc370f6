/**
 * The child process that asks node-llama-cpp which GPU backend works here (sandbox/llama/gpu.ts
 * starts it). Loading a CUDA or Vulkan build of llama.cpp can fail or abort the process (missing
 * driver, wrong runtime version), so it happens in here and never in the node. Tries each backend
 * whose drivers node-llama-cpp finds (`getLlamaGpuTypes('supported')`, best first) with prebuilt
 * binaries only, and sends one message:
 *   { type: 'gpu', backend: 'cuda' | 'vulkan' | 'metal' | 'cpu', devices: [{ name, memoryBytes }],
 *     failures: [{ backend, message }] }
 */
import { getLlama, getLlamaGpuTypes, LlamaLogLevel } from 'node-llama-cpp'

// Exits once the answer is written: a loaded GPU backend may keep threads that hold the process.
const finish = (message: Record<string, unknown>): void => { process.send?.(message, () => { process.exit(0) }) }
const failures: Array<{ backend: string, message: string }> = []
const errorText = (err: unknown): string => ((err as Error).message ?? String(err)).split('\n')[0]?.slice(0, 300) ?? ''

let supported: Array<'cuda' | 'vulkan' | 'metal' | false> = []
try {
  supported = await getLlamaGpuTypes('supported')
} catch (err) {
  failures.push({ backend: 'any', message: `node-llama-cpp could not list the GPU backends: ${errorText(err)}` })
}

let found = false
for (const gpu of supported) {
  if (gpu === false) continue
  try {
    const llama = await getLlama({ gpu, build: 'never', logLevel: LlamaLogLevel.error, progressLogs: false })
    if (llama.gpu === false) { failures.push({ backend: gpu, message: 'the backend loaded without a GPU' }); continue }
    const names = await llama.getGpuDeviceNames()
    // node-llama-cpp reports the VRAM of all devices together: each device gets its share (exact for
    // the usual case of identical cards).
    const vram = await llama.getVramState()
    const each = names.length === 0 ? 0 : Math.floor(vram.total / names.length)
    finish({ type: 'gpu', backend: llama.gpu, devices: names.map(name => ({ name, memoryBytes: each })), failures })
    found = true
    break
  } catch (err) {
    failures.push({ backend: gpu, message: errorText(err) })
  }
}
if (!found) finish({ type: 'gpu', backend: 'cpu', devices: [], failures })
