import type { Socket } from 'node:net';
import type { ConnectionLimits } from './connection-limits.js';

/** Who is at the other end of a Unix socket connection. */
export interface PeerIdentity {
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

/**
 * Identifies the process behind an accepted connection. syrupd implements it with
 * SO_PEERCRED; the runtime itself has no syscall layer (it may depend only on core and maps),
 * so the daemon injects one under the {@link PeerCredentials} token.
 */
export interface PeerCredentials {
  of(socket: Socket): PeerIdentity;
}

export const PeerCredentials: unique symbol = Symbol.for('@syrup/runtime.PeerCredentials');

/** Settings of the protocol server, under the {@link ProtocolServerOptions} token. */
export interface ProtocolServerOptions {
  /** The Unix socket path; defaults to DEFAULT_SOCKET_PATH. */
  readonly socketPath?: string;
  /** The largest request line in bytes; defaults to MAX_REQUEST_BYTES. */
  readonly maxRequestBytes?: number;
  /** Permissions of the socket file; 0o666 lets every local user connect (the daemon identifies them). */
  readonly socketMode?: number;
  /** Bounds on each connection (per-uid cap, idle time, pipelined requests, unread answers); DEFAULT_CONNECTION_LIMITS for those absent. */
  readonly connectionLimits?: Partial<ConnectionLimits>;
}

export const ProtocolServerOptions: unique symbol = Symbol.for('@syrup/runtime.ProtocolServerOptions');
