/**
 * The node layer: composes protocol, sandbox, ledger and bootstrap into one clawnode process. The CLI
 * in `cli/` is its front door.
 */
export { runDoctor } from './doctor.ts'
export type { DoctorCheck, DoctorInit } from './doctor.ts'
export { loadConfig, parseConfig, ConfigError } from './config.ts'
export type { NodeConfig, SandboxConfig } from './config.ts'
export { resolveDataDir, ensureDataDir } from './data-dir.ts'
