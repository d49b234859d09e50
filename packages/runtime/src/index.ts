// tsyringe reads decorator metadata through the Reflect API, which must exist before it loads.
import 'reflect-metadata';

export { ProtocolError, RemoteError, RuntimeError, type ProtocolErrorCode, type RuntimeErrorCode } from './errors/runtime-error.js';
export { EMBEDDED_CALLER, RuntimeService, type Caller, type MapValue, type RuntimeDeploymentInfo } from './service/runtime-service.js';
export {
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
  type WireDeploymentInfo,
  type WireHookInfo,
  type WireStatus,
} from './protocol/protocol-schema.js';
export { PeerCredentials, ProtocolServerOptions, type PeerIdentity } from './protocol/peer-credentials.js';
export { ProtocolServer } from './protocol/protocol-server.js';
export { readPolicy } from './client/read-policy.js';
export type { ClientDeployOptions, ClientDeployment, ClientDeploymentEvents, ClientMap, PolicyRef, SyrupClient } from './client/syrup-client.js';
export { embedded, type EmbeddedOptions, type EmbeddedSyrup } from './client/embedded.js';
export { connect, type ConnectOptions } from './client/connect.js';
