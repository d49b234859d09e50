import { SyrupError } from '@syrup/core';

export type SocketSelectErrorCode =
  /** The target names no port, or names it twice in ways that disagree. */
  | 'SOCKET_SELECT_TARGET_INVALID'
  /** No socket of the requested protocol is bound (UDP) or listening (TCP) on the port. */
  | 'SOCKET_SELECT_NO_SOCKETS'
  /** The process named by `pid` does not exist, or holds no socket of the group. */
  | 'SOCKET_SELECT_NOT_OWNER'
  /** The sockets on the port belong to several processes, none of which holds them all. */
  | 'SOCKET_SELECT_AMBIGUOUS_OWNER'
  /** The port has sockets in more than one reuseport group (different local addresses). */
  | 'SOCKET_SELECT_AMBIGUOUS_GROUP'
  /** A socket of the group was bound without SO_REUSEPORT, so the group cannot take a program. */
  | 'SOCKET_SELECT_NO_REUSEPORT'
  /** The policy's input, the target's protocol or an explicit socket's protocol disagree. */
  | 'SOCKET_SELECT_PROTOCOL_MISMATCH'
  /** An explicit socket in `extra.sockets` is closed, not a socket, or not a kind this hook reads. */
  | 'SOCKET_SELECT_BAD_SOCKET'
  /** Another deployment of this process already steers (some of) the group's sockets. */
  | 'SOCKET_SELECT_GROUP_BUSY'
  /** The group's sockets have all closed (their process exited), so there is nothing to replace. */
  | 'SOCKET_SELECT_GROUP_GONE'
  /** A socket could not be taken from its process (pidfd_getfd refused, or it closed meanwhile). */
  | 'SOCKET_SELECT_SOCKET_UNAVAILABLE'
  /** The artifact given to `replace` was not compiled by the eBPF backend for socket-select. */
  | 'SOCKET_SELECT_FOREIGN_ARTIFACT'
  /** The attachment was used after `close()`. */
  | 'SOCKET_SELECT_CLOSED';

/**
 * A refusal or failure of the socket-select hook. It is a `SyrupError`, so a deployment
 * reports its `code` unchanged; the message is one sentence naming the port and, where one
 * is involved, the process.
 */
export class SocketSelectError extends SyrupError<SocketSelectErrorCode> {
  override name = 'SocketSelectError';
}
