/**
 * Runs a command inside a started sandbox through Docker's exec API, with its output demultiplexed.
 * Used for the job itself and for the keeper's tar transfers in and out.
 */
import { Buffer } from 'node:buffer'
import { DEFAULT_JOB_USER, DOCKER_CALL_TIMEOUT_MS, KEEPER_MOUNT } from './constants.ts'
import { createDemuxer } from './demux.ts'
import { SandboxError } from './errors.ts'
import type { OutputStream } from './demux.ts'
import type { Sandbox } from './sandbox.ts'
import type Dockerode from 'dockerode'
import type { Duplex } from 'node:stream'

export interface ExecInit {
  cmd: string[]
  env?: string[]
  workdir?: string
  stdin: boolean
  signal?: AbortSignal
}

export interface StartedExec {
  exec: Dockerode.Exec
  stream: Duplex
}

export async function startExec (sandbox: Sandbox, init: ExecInit): Promise<StartedExec> {
  const signal = AbortSignal.any([AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS), ...(init.signal === undefined ? [] : [init.signal])])
  try {
    const exec = await sandbox.container.exec({
      Cmd: init.cmd,
      Env: init.env ?? [],
      User: DEFAULT_JOB_USER,
      ...(init.workdir === undefined ? {} : { WorkingDir: init.workdir }),
      AttachStdin: init.stdin,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      abortSignal: signal
    } as Dockerode.ExecCreateOptions)
    const stream = await exec.start({ hijack: true, stdin: init.stdin, abortSignal: signal } as Dockerode.ExecStartOptions) as unknown as Duplex
    return { exec, stream }
  } catch (err) {
    throw new SandboxError(`Could not start a process in the sandbox: ${(err as Error).message}`, { cause: err })
  }
}

/** Writes bytes to an exec's stdin and half-closes it, so the process sees end of file. */
export function feedStdin (stream: Duplex, data: Uint8Array | undefined): void {
  if (data !== undefined && data.byteLength > 0) stream.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength))
  stream.end()
}

export interface KeeperRun {
  args: string[]
  stdin?: Uint8Array
  onStdout: (chunk: Uint8Array) => void
  timeoutMs: number
  signal?: AbortSignal
}

/** Runs the keeper (busybox) with args; resolves with its exit code and the start of its stderr. */
export async function runKeeper (sandbox: Sandbox, run: KeeperRun): Promise<{ exitCode: number, stderr: string }> {
  const started = await startExec(sandbox, { cmd: [KEEPER_MOUNT, ...run.args], stdin: run.stdin !== undefined, ...(run.signal === undefined ? {} : { signal: run.signal }) })
  return await completeExec(started, run)
}

/**
 * Feeds a started exec its stdin, passes its stdout on, and waits (bounded) for it to end; resolves
 * with the exit code and the first 4 KiB of stderr.
 */
export async function completeExec (started: StartedExec, run: Omit<KeeperRun, 'args'>): Promise<{ exitCode: number, stderr: string }> {
  const { exec, stream } = started
  const signal = AbortSignal.any([AbortSignal.timeout(run.timeoutMs), ...(run.signal === undefined ? [] : [run.signal])])
  const stderr: Uint8Array[] = []
  let stderrBytes = 0
  const demux = createDemuxer((which: OutputStream, data) => {
    if (which === 'stdout') run.onStdout(data)
    else if (stderrBytes < 4096) { stderr.push(data.slice(0, 4096 - stderrBytes)); stderrBytes += data.byteLength }
  })
  const ended = new Promise<void>((resolve, reject) => {
    const onAbort = (): void => { stream.destroy(); reject(new SandboxError('a sandbox helper process did not finish in time', { cause: signal.reason })) }
    if (signal.aborted) { onAbort(); return }
    signal.addEventListener('abort', onAbort, { once: true })
    stream.on('data', (chunk: Buffer) => {
      try { demux.push(chunk) } catch (err) { stream.destroy(err as Error) }
    })
    stream.once('error', (err) => { signal.removeEventListener('abort', onAbort); reject(new SandboxError(`sandbox helper failed: ${err.message}`, { cause: err })) })
    stream.once('end', () => { signal.removeEventListener('abort', onAbort); resolve() })
  })
  feedStdin(stream, run.stdin)
  await ended
  const info = await exec.inspect({ abortSignal: AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS) } as object)
  return { exitCode: info.ExitCode ?? -1, stderr: Buffer.concat(stderr).toString('utf8') }
}
