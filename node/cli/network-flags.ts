/**
 * The network flags `clawnode start` and `clawnode bootstrap` share (--bootstrap, --listen,
 * --dht-mode, --address-policy), and how they override the config file's network section.
 */
import { UsageError } from './errors.ts'
import type { NetworkConfig } from '../config.ts'

export const NETWORK_OPTIONS = {
  bootstrap: { type: 'string', multiple: true },
  listen: { type: 'string', multiple: true },
  'dht-mode': { type: 'string' },
  'address-policy': { type: 'string' }
} as const

export interface NetworkFlags { bootstrap?: string[] | undefined, listen?: string[] | undefined, 'dht-mode'?: string | undefined, 'address-policy'?: string | undefined }

/** The config's network section with the flags given on the command line on top. */
export function networkFromFlags (config: NetworkConfig, values: NetworkFlags): NetworkConfig {
  const mode = values['dht-mode']
  if (mode !== undefined && mode !== 'server' && mode !== 'client' && mode !== 'auto') throw new UsageError('--dht-mode must be server, client or auto')
  return {
    ...config,
    ...(values.bootstrap === undefined ? {} : { bootstrap: values.bootstrap }),
    ...(values.listen === undefined ? {} : { listen: values.listen }),
    ...(mode === undefined ? {} : { dhtMode: mode }),
    ...(values['address-policy'] === undefined ? {} : { addressPolicy: values['address-policy'] })
  }
}
