/**
 * The Docker client: where the daemon is, and a bounded ping that turns "cannot connect" into a
 * DockerUnavailableError. dockerode is loaded lazily because it pulls in grpc and protobufjs.
 */
import type Docker from 'dockerode'
import { DOCKER_CALL_TIMEOUT_MS } from './constants.ts'
import { DockerUnavailableError } from './errors.ts'

export type { Docker }

export interface DockerInit {
  /** Unix socket of the daemon; defaults to DOCKER_HOST (unix://…) or /var/run/docker.sock. */
  socketPath?: string
}

export function dockerSocketPath (init: DockerInit = {}): string {
  if (init.socketPath !== undefined) return init.socketPath
  const host = process.env.DOCKER_HOST
  if (host?.startsWith('unix://') === true) return host.slice('unix://'.length)
  return '/var/run/docker.sock'
}

export async function createDocker (init: DockerInit = {}): Promise<Docker> {
  const { default: DockerCtor } = await import('dockerode')
  return new DockerCtor({ socketPath: dockerSocketPath(init) })
}

/** Pings the daemon within a bound; throws DockerUnavailableError if it does not answer. */
export async function pingDocker (docker: Docker, options: { signal?: AbortSignal } = {}): Promise<void> {
  const signal = AbortSignal.any([AbortSignal.timeout(DOCKER_CALL_TIMEOUT_MS), ...(options.signal === undefined ? [] : [options.signal])])
  try {
    await (docker.ping as (opts: object) => Promise<unknown>).call(docker, { abortSignal: signal })
  } catch (err) {
    throw new DockerUnavailableError((docker.modem as { socketPath?: string }).socketPath ?? 'unknown', { cause: err })
  }
}

/** True when an error from dockerode means the daemon itself could not be reached. */
export function isConnectionError (err: unknown): boolean {
  const code = (err as { code?: string } | undefined)?.code
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EACCES' || code === 'ECONNRESET' || code === 'EPIPE'
}
