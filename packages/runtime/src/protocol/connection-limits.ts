import { RuntimeError } from '../errors/runtime-error.js';

/**
 * Bounds on what one client connection may make the protocol server hold: descriptors,
 * time, queued requests and unread answers. A hostile or broken client (one that opens
 * thousands of connections, or pipelines requests and never reads) must not take the
 * daemon's memory or descriptors from the other tenants.
 */
export interface ConnectionLimits {
  /** Connections one non-root uid may have open at once; the next one is refused with LIMIT_CONNECTIONS and closed. Root has no cap. */
  readonly maxConnections: number;
  /** Milliseconds a connection may go without a request or answer while nothing is in flight and no watch is open; then it is closed with LIMIT_IDLE. */
  readonly idleTimeoutMs: number;
  /** Requests of one connection read and not yet answered; beyond it the server stops reading the socket until answers go out (backpressure, not refusal). */
  readonly maxPipelinedRequests: number;
  /** Bytes of answers written and not yet taken by the client; beyond it the server stops reading requests from that connection until they drain. */
  readonly maxUnreadReplyBytes: number;
}

/**
 * The defaults. 16 pipelined requests admit a tenant's whole deployment quota
 * (DEFAULT_TENANT_LIMITS.maxDeployments) sent at once on one connection.
 */
export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = Object.freeze({
  maxConnections: 64,
  idleTimeoutMs: 5 * 60 * 1000,
  maxPipelinedRequests: 16,
  maxUnreadReplyBytes: 1 << 20,
});

const MAX_TIMER_MS = 2 ** 31 - 1;

/** The limits in force: the configured ones over the defaults; a value that is not a positive number is refused (INVALID_ARGUMENT). */
export function connectionLimits(configured: Partial<ConnectionLimits> | undefined): ConnectionLimits {
  const limits: ConnectionLimits = { ...DEFAULT_CONNECTION_LIMITS, ...Object.fromEntries(Object.entries(configured ?? {}).filter(([, v]) => v !== undefined)) };
  for (const [name, value] of Object.entries(limits)) {
    if (!(typeof value === 'number' && value > 0)) throw new RuntimeError('INVALID_ARGUMENT', `the connection limit ${name} must be a positive number, not ${String(value)}.`);
  }
  // Node's timers take at most 2^31 - 1 ms and fire at once beyond it: an idle timeout that large would close everything.
  if (limits.idleTimeoutMs > MAX_TIMER_MS) throw new RuntimeError('INVALID_ARGUMENT', `the connection limit idleTimeoutMs must be at most ${MAX_TIMER_MS} ms, not ${limits.idleTimeoutMs}.`);
  return limits;
}

/** The connection cap that applies to `uid`: root's connections are not counted against any cap. */
export function connectionCap(limits: ConnectionLimits, uid: number): number {
  return uid === 0 ? Infinity : limits.maxConnections;
}

/** What the protocol server holds for one open connection now: the numbers its bounds keep small. */
export interface ConnectionLoad {
  readonly uid: number;
  /** Requests read and not yet answered (queued, running, or waiting for the client to read earlier answers). */
  readonly requestsInFlight: number;
  /** Bytes of answers written and not yet handed to the kernel because the client does not read. */
  readonly unreadReplyBytes: number;
  /** Bytes received and not yet taken as requests: the socket's read buffer, unscanned bytes and an unfinished line. */
  readonly heldRequestBytes: number;
  /** False while the server has stopped reading the socket (backpressure). */
  readonly reading: boolean;
}
