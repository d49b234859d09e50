// From @syrup/errors, not @syrup/core: the client side (src/client/index.ts) must not load core's compiler.
import { SyrupError } from '@syrup/errors';

/** Stable codes of the runtime's own refusals. */
export type RuntimeErrorCode =
  | 'DEPLOYMENT_NOT_FOUND'
  | 'MAP_NOT_FOUND'
  | 'NOT_OWNER'
  | 'POLICY_PATH_REFUSED'
  | 'POLICY_NOT_FOUND'
  | 'INVALID_ARGUMENT'
  | 'SERVICE_CLOSED'
  | 'DISASM_UNSUPPORTED'
  | 'SHARED_MAP_MISMATCH'
  | 'SHARED_MAP_UNSUPPORTED'
  | 'REQUEST_CANCELLED';

/** A request the runtime service refuses: the message is one sentence a user can act on. */
export class RuntimeError extends SyrupError<RuntimeErrorCode> {
  override name = 'RuntimeError';
}

/** Codes of protocol-level refusals (the request never reached the service). */
export type ProtocolErrorCode = 'PROTOCOL_MALFORMED' | 'PROTOCOL_VERSION' | 'PROTOCOL_UNKNOWN_OP' | 'PROTOCOL_TOO_LARGE' | 'PROTOCOL_CONNECTION';

/** The wire protocol refused a request or the connection broke. */
export class ProtocolError extends SyrupError<ProtocolErrorCode> {
  override name = 'ProtocolError';
}

/** A refusal that came back over the wire: `code` is the server's code, `message` its sentence. */
export class RemoteError extends SyrupError {
  override name = 'RemoteError';

  constructor(code: string, message: string) {
    super(code, message);
  }
}
