// tsyringe reads decorator metadata through the Reflect API, which must exist before it loads.
import 'reflect-metadata';

export { ProtocolError, RemoteError, RuntimeError, type ProtocolErrorCode, type RuntimeErrorCode } from './errors/runtime-error.js';
export { EMBEDDED_CALLER, RuntimeService, type Caller, type MapValue, type RuntimeDeploymentInfo } from './service/runtime-service.js';
export {
  BackendPackageSchema,
  DEFAULT_SOCKET_PATH,
  DeploymentInfoSchema,
  HookInfoSchema,
  MAX_REQUEST_BYTES,
  PROTOCOL_VERSION,
  REQUEST_OPS,
  RequestSchema,
  ResponseSchema,
  ResultSchemas,
  StatusSchema,
  TargetSchema,
  decodeMapValue,
  encodeMapValue,
  type Request,
  type RequestOp,
  type Response,
  type WireBackendPackage,
  type WireDeploymentInfo,
  type WireHookInfo,
  type WireStatus,
} from './protocol/protocol-schema.js';
export { PeerCredentials, ProtocolServerOptions, type PeerIdentity } from './protocol/peer-credentials.js';
export { RequestAudit, type AuditEntry } from './protocol/request-audit.js';
export { ProtocolServer } from './protocol/protocol-server.js';
export { DEFAULT_CONNECTION_LIMITS, type ConnectionLimits, type ConnectionLoad } from './protocol/connection-limits.js';
export { MAX_REQUEST_NESTING } from './protocol/request-nesting.js';
export { DaemonBackends, type BackendPackageState, type BackendPackageStatus } from './protocol/daemon-backends.js';
export { wireHookInfo } from './protocol/wire-hook-info.js';
// Backend packages loaded by name or path: syrupd's --backend and the CLI's syrup check.
export { loadBackends, type BackendLoadOutcome } from './backends/load-backends.js';
export { loadBackendPackage, type LoadedBackendPackage, type LoadOptions } from './backends/load-backend-package.js';
export { findBackendPackage, isPathSpec, type FindOptions, type FoundPackage } from './backends/find-backend-package.js';
export { findInstalledBackends } from './backends/find-installed-backends.js';
export { activeConditions, packageEntry, type PackageManifest } from './backends/package-entry.js';
export { BackendLoadError, type BackendLoadErrorCode } from './backends/backend-load-error.js';
export { readPolicy } from './client/read-policy.js';
export type { ClientDeployOptions, ClientDeployment, ClientDeploymentEvents, ClientMap, PolicyRef, SyrupClient } from './client/syrup-client.js';
export { embedded, type EmbeddedOptions, type EmbeddedSyrup } from './client/embedded.js';
export { connect, type ConnectOptions } from './client/connect.js';
export { RuntimePersistenceOptions, type PersistenceLog } from './persistence/runtime-persistence-options.js';
export { DeploymentPersistence, type DeploymentOwner, type DroppedDeployment, type IntentRequest, type PersistRequest, type RecoveryHooks, type RecoveryReport } from './persistence/deployment-persistence.js';
export { PersistenceError, type PersistenceErrorCode } from './persistence/persistence-error.js';
export { readStateFile, writeStateFile, STATE_FILE_VERSION, type DeploymentRecord, type IntentRecord, type RuntimeState } from './persistence/state-file.js';
export { processStartTime } from './persistence/process-start-time.js';
export { LimitError, type LimitErrorCode } from './service/limits/limit-error.js';
export { CompilerError, type CompilerErrorCode } from './service/compile/compiler-error.js';
export { DEFAULT_TENANT_LIMITS, RuntimeLimits, tenantLimits, type TenantLimits } from './service/limits/runtime-limits.js';
export { mapMemoryBytes } from './service/limits/map-memory.js';
export { BACKLOG_NICE_STEPS, PolicyCompiler, type CompileOptions } from './service/compile/policy-compiler.js';
export { ProgressLineSchema, SERVICE_STAGES, type ProgressLine, type ServiceStage } from './protocol/protocol-schema.js';
export type { ClientDisasmOptions, ClientStage } from './client/syrup-client.js';
export { OwnershipError, type OwnershipErrorCode } from '@syrup/core';
export { TargetOwnership, type HeldClaim, type OwnershipRequest } from './service/ownership/target-ownership.js';
export { asDataMap } from './client/as-data-map.js';
export { SharedMapRegistry, describeShape, type SharedMapPlan } from './service/shared-maps.js';
export { EventLineSchema, type EventLine } from './protocol/protocol-schema.js';
export type { ClientDeploymentEvent, ClientUndeployReason } from './client/syrup-client.js';
export type { DeploymentEvent } from './service/runtime-service.js';
