export { DEFAULT_PIN_ROOT, startSyrupd, type Syrupd, type SyrupdOptions } from './syrupd.js';
export { parseSyrupdArgs, type SyrupdArgs } from './syrupd-args.js';
export { SoPeerCredCredentials } from './so-peercred-credentials.js';
export { BoundedAuditLog, DEFAULT_AUDIT_LOG_LIMITS, type AuditLogger, type AuditLogLimits } from './bounded-audit-log.js';
export { accountBackends, loadBackends, type BackendLoadOutcome } from './backends/load-backends.js';
export { loadBackendPackage, type LoadedBackendPackage, type LoadOptions } from './backends/load-backend-package.js';
export { BackendLoadError, type BackendLoadErrorCode } from './backends/backend-load-error.js';
export { PROJECT_BACKEND_OF_HOOK, PROJECT_BACKENDS } from './backends/project-backends.js';
