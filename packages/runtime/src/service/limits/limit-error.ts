import { SyrupError } from '@syrup/core';

/**
 * Stable codes of the per-tenant limits, one per limit that refuses. The protocol server's
 * connection limits (protocol/connection-limits.ts) refuse a connection over the per-uid cap
 * (LIMIT_CONNECTIONS) and close an idle one (LIMIT_IDLE); its bounds on pipelined requests and
 * unread answers refuse nothing, they stop reading.
 */
export type LimitErrorCode = 'LIMIT_DEPLOYMENTS' | 'LIMIT_MAP_MEMORY' | 'LIMIT_COMPILE_TIME' | 'LIMIT_QUEUED_COMPILES' | 'LIMIT_QUEUED_LOADS' | 'LIMIT_CONNECTIONS' | 'LIMIT_IDLE';

/**
 * A request refused because it would take a tenant over one of its limits. The message is
 * one sentence that names the limit and its value, so the caller knows what to ask for.
 * (The request-size limit is enforced before a request is parsed: ProtocolError PROTOCOL_TOO_LARGE.)
 */
export class LimitError extends SyrupError<LimitErrorCode> {
  override name = 'LimitError';

  constructor(
    code: LimitErrorCode,
    message: string,
    /** The limit's value, in its unit (deployments, bytes, milliseconds, compiles, connections). */
    readonly limit: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}
