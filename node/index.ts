/**
 * The node layer: composes protocol, sandbox, ledger and bootstrap into one clawnode process. The CLI
 * in `cli/` is its front door.
 */
export { runDoctor } from './doctor.ts'
export type { DoctorCheck, DoctorInit } from './doctor.ts'
export { loadConfig, parseConfig, ConfigError } from './config.ts'
export type { NodeConfig, SandboxConfig } from './config.ts'
export { resolveDataDir, ensureDataDir } from './data-dir.ts'
export { createClawNode } from './libp2p.ts'
export type { ClawNode, ClawNodeInit } from './libp2p.ts'
export { createAddressPolicy, AddressPolicyError, ADDRESS_POLICY_PRESETS } from './address-policy.ts'
export type { AddressPolicy } from './address-policy.ts'
export { loadOrCreatePeerKey, peerKeyPath, IdentityError } from './identity.ts'
export { capabilityKey, capabilityCid, CAP_KEY_PREFIX } from './cap-keys.ts'
export type { CapabilityKey } from './cap-keys.ts'
export type { NetworkConfig, IceServer } from './config.ts'
export { createCapsService, advertisedKeys, DEFAULT_RECORD_TTL_MS, DEFAULT_DISCOVERY_TIMEOUT_MS, MAX_DISCOVERED_PROVIDERS } from './caps-service.ts'
export type { CapsService, CapsServiceInit, DiscoverOptions } from './caps-service.ts'
export { detectCapabilities } from './capabilities.ts'
export { clawnodeVersion } from './version.ts'
export type { ProviderConfig } from './config.ts'
