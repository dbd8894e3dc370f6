/**
 * GPU detection through node-llama-cpp in a child process, and how it is advertised: on a machine
 * without a GPU it finds the CPU, with no devices and without throwing; a probe that fails gives the
 * CPU and says why; a device name becomes a DHT class key; the capability record carries the devices
 * of a detection with their memory.
 */
import { existsSync } from 'node:fs'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { detectCapabilities } from '../../node/capabilities.ts'
import { advertisedKeys } from '../../node/caps-service.ts'
import { gpuClass } from '../../node/cap-keys.ts'
import { describeGpu, detectGpu, probeGpu } from '../../sandbox/llama/gpu.ts'
import { bounded, tempDir } from '../helpers.ts'
import type { GpuDetection } from '../../sandbox/llama/gpu.ts'

const hasGpuDevice = ['/dev/nvidiactl', '/dev/dri/renderD128', '/dev/kfd'].some(p => existsSync(p))

test('detection finds the CPU on a machine without a GPU, without throwing, once per process', bounded(60_000, async () => {
  const found = await detectGpu()
  assert.ok(['cuda', 'vulkan', 'metal', 'cpu'].includes(found.backend))
  if (!hasGpuDevice) {
    assert.is(found.backend, 'cpu')
    assert.equal(found.devices, [])
    assert.equal(found.failures, [])
    assert.is(describeGpu(found), 'CPU only: no CUDA/Vulkan/Metal device found')
  } else if (found.backend !== 'cpu') {
    assert.ok(found.devices.length > 0)
  }
  assert.is(await detectGpu(), found, 'the answer is kept for the process')
}))

test('a probe that does not answer in time gives the CPU and the reason', bounded(30_000, async () => {
  const found = await probeGpu({ timeoutMs: 1 })
  assert.is(found.backend, 'cpu')
  assert.equal(found.devices, [])
  assert.match(describeGpu(found), /^CPU only: GPU detection failed: the GPU probe took longer than 1 ms/)
}))

test('an abort ends the wait for detection', async () => {
  const controller = new AbortController()
  controller.abort()
  try {
    await detectGpu({ signal: controller.signal })
    assert.unreachable('an aborted signal rejects')
  } catch (err) {
    assert.is((err as Error).name, 'AbortError')
  }
})

test('a GPU device name becomes its DHT class', () => {
  const cases: Array<[string, string]> = [
    ['NVIDIA H100 80GB HBM3', 'nvidia-h100-80gb-hbm3'],
    ['NVIDIA GeForce RTX 4090', 'nvidia-geforce-rtx-4090'],
    ['AMD Radeon RX 7900 XTX (RADV NAVI31)', 'amd-radeon-rx-7900-xtx-radv-navi31'],
    ['  Apple M2 Max  ', 'apple-m2-max'],
    ['Tesla T4', 'tesla-t4'],
    ['***', 'unknown'],
    ['x'.repeat(100), 'x'.repeat(64)]
  ]
  for (const [name, want] of cases) assert.is(gpuClass(name), want, name)
})

test('the capability record carries the detected GPUs, advertised under their class keys', bounded(30_000, async () => {
  const gpu: GpuDetection = { backend: 'cuda', devices: [{ name: 'NVIDIA H100 80GB HBM3', memoryBytes: 80 * 1024 ** 3 }, { name: 'NVIDIA H100 80GB HBM3', memoryBytes: 80 * 1024 ** 3 }], failures: [] }
  const caps = await detectCapabilities(await tempDir(), { sandbox: {}, network: {}, provider: {}, chain: {}, settlement: {} }, [], { gpu })
  // Each device carries the backend that drives it (protocol/caps.test.ts signs and opens one).
  assert.equal(caps.gpus, gpu.devices.map(d => ({ ...d, backend: 'cuda' })))
  const keys = advertisedKeys(caps)
  assert.equal(keys.filter(k => k.includes('/gpu/')), ['/clawnode/cap/1/gpu/nvidia-h100-80gb-hbm3'])
  assert.is(describeGpu(gpu), 'cuda: NVIDIA H100 80GB HBM3 (80.0 GiB), NVIDIA H100 80GB HBM3 (80.0 GiB)')
  const cpu = await detectCapabilities(await tempDir(), { sandbox: {}, network: {}, provider: {}, chain: {}, settlement: {} }, [], { gpu: { backend: 'cpu', devices: [], failures: [] } })
  assert.equal(cpu.gpus, [])
  assert.equal(advertisedKeys(cpu).filter(k => k.includes('/gpu/')), [])
}))

test.run()
