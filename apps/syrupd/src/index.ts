export { DEFAULT_PIN_ROOT, startSyrupd, type Syrupd, type SyrupdOptions } from './syrupd.js';
export { parseSyrupdArgs, type SyrupdArgs } from './syrupd-args.js';
export { SoPeerCredCredentials } from './so-peercred-credentials.js';
export { BoundedAuditLog, DEFAULT_AUDIT_LOG_LIMITS, type AuditLogger, type AuditLogLimits } from './bounded-audit-log.js';
export { accountBackends } from './backends/account-backends.js';
// The loader itself lives in @syrup/runtime (the CLI's syrup check uses it too); re-exported for syrupd's users.
export { BackendLoadError, loadBackendPackage, loadBackends, type BackendLoadErrorCode, type BackendLoadOutcome, type LoadedBackendPackage, type LoadOptions } from '@syrup/runtime';
export { PROJECT_BACKEND_OF_HOOK, PROJECT_BACKENDS } from './backends/project-backends.js';
