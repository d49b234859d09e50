// `@syrup/runtime/client`: the protocol client alone (connect() and what its callers name),
// for short-lived commands such as the CLI. Its module graph holds no part of the service, so
// it does not load core's policy compiler and its TypeScript front end (see
// packages/runtime/test/client-entry.test.ts).
export { ProtocolError, RemoteError, RuntimeError, type ProtocolErrorCode, type RuntimeErrorCode } from '../errors/runtime-error.js';
export { DEFAULT_SOCKET_PATH, PROTOCOL_VERSION, type WireBackendPackage, type WireDeploymentInfo, type WireHookInfo, type WireStatus } from '../protocol/protocol-schema.js';
export { connect, type ConnectOptions } from './connect.js';
export { readPolicy } from './read-policy.js';
export type { ClientDeployment, ClientDeploymentEvent, ClientDeploymentEvents, ClientDeployOptions, ClientDisasmOptions, ClientMap, ClientStage, ClientUndeployReason, PolicyRef, SyrupClient } from './syrup-client.js';
