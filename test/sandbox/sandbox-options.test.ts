import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerOptions, GVISOR_PIDS_BASE, GVISOR_PIDS_PER_PROCESS, KEEPER_MOUNT, KEEPER_PROCESSES } from '../../sandbox/index.ts'

const image = 'sha256:' + 'c'.repeat(64)
const options = containerOptions({
  profile: { image, cpus: 0.5, memoryMb: 128, pids: 16, tmpMb: 8, artifactBytes: 3 * 1024 * 1024 },
  runtime: 'runsc',
  keeperPath: '/usr/bin/busybox',
  owner: 'job-1',
  home: 'h'
})
const host = options.HostConfig ?? {}

test('every sandbox gets the whole hardening set', () => {
  assert.is(host.Runtime, 'runsc')
  assert.is(host.NetworkMode, 'none')
  assert.is(options.NetworkDisabled, true)
  assert.is(host.ReadonlyRootfs, true)
  assert.equal(host.CapDrop, ['ALL'])
  assert.equal(host.SecurityOpt, ['no-new-privileges'])
  assert.is(host.Privileged, false)
  assert.is(options.User, '65534:65534')
})

test('resource limits: memory = swap, CPU quota, RLIMIT_NPROC and a host pids backstop sized for gVisor', () => {
  assert.is(host.Memory, 128 * 1024 * 1024)
  assert.is(host.MemorySwap, host.Memory)
  assert.is(host.NanoCpus, 500_000_000)
  assert.is(host.PidsLimit, GVISOR_PIDS_BASE + (16 + KEEPER_PROCESSES) * GVISOR_PIDS_PER_PROCESS)
  assert.equal(host.Ulimits, [{ Name: 'nproc', Soft: 16 + KEEPER_PROCESSES, Hard: 16 + KEEPER_PROCESSES }])
})

test('size-limited tmpfs for /tmp, /in and /out; the keeper is mounted read-only', () => {
  assert.match(host.Tmpfs?.['/tmp'] ?? '', /size=8m/)
  assert.match(host.Tmpfs?.['/in'] ?? '', /size=8m/)
  assert.match(host.Tmpfs?.['/out'] ?? '', /size=3m/)
  assert.equal(host.Binds, [`/usr/bin/busybox:${KEEPER_MOUNT}:ro`])
  assert.is(host.AutoRemove, false)
})

test.run()
