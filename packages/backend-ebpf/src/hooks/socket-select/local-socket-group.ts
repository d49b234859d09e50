import { Fd } from '../../fd.js';
import type { ReuseportSockArray } from '../../maps/system/reuseport-sock-array.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { describeNodeSocket, isNodeSocket, nodeSocketFd, type NodeSocket } from './node-socket-fd.js';
import { closingAfter, hasReuseport, inodeOf, noReuseport, SocketGroup, type SocketGroupInfo } from './socket-group.js';
import { SocketSelectError } from './socket-select-error.js';
import { isSelectable, readSocketTable, type SocketProtocol, type SocketTableEntry } from './socket-table.js';

/**
 * A socket the application passes in `extra.sockets`: an `Fd` it owns, or a Node
 * `dgram.Socket` / `net.Server` made with `reusePort: true`.
 */
export type ExplicitSocket = Fd | NodeSocket;

export interface LocalGroupQuery {
  readonly protocol: SocketProtocol;
  /** When given, the sockets must be bound to it. */
  readonly port?: number;
}

/**
 * A reuseport group whose sockets this process holds and passed explicitly: executor k is
 * `sockets[k]`, in the application's order. The sockets stay the application's: an `Fd` is
 * borrowed, and a Node socket's fd is duplicated only for the one call that needs it.
 */
export class LocalSocketGroup extends SocketGroup {
  readonly #sockets: readonly ExplicitSocket[];

  private constructor(info: SocketGroupInfo, sockets: readonly ExplicitSocket[], pidfd: Fd, sys: Syscalls) {
    super(info, pidfd, sys);
    this.#sockets = sockets;
  }

  /** Checks that `sockets` are one reuseport group of `query.protocol`; refuses with one sentence otherwise. */
  static resolve(sockets: readonly unknown[], query: LocalGroupQuery, sys: Syscalls): LocalSocketGroup {
    if (sockets.length === 0) {
      throw new SocketSelectError('SOCKET_SELECT_TARGET_INVALID', 'extra.sockets is empty, so there is no socket to steer to.');
    }
    // Each /proc/net table costs milliseconds to read, so the other protocol's is read only
    // when a socket is missing from the deployment's own (to say it is of the wrong kind).
    const cache = new Map<SocketProtocol, SocketTableEntry[]>();
    const table = (protocol: SocketProtocol): SocketTableEntry[] => {
      let entries = cache.get(protocol);
      if (entries === undefined) cache.set(protocol, (entries = readSocketTable(protocol)));
      return entries;
    };
    const other: SocketProtocol = query.protocol === 'udp' ? 'tcp' : 'udp';
    const entries: SocketTableEntry[] = [];
    const explicit: ExplicitSocket[] = [];
    sockets.forEach((socket, k) => {
      const name = `extra.sockets[${k}]`;
      if (!(socket instanceof Fd) && !isNodeSocket(socket)) {
        throw new SocketSelectError('SOCKET_SELECT_BAD_SOCKET', `${name} is neither an Fd nor a Node dgram.Socket or net.Server.`);
      }
      const what = socket instanceof Fd ? `${name} (${String(socket)})` : `${name} (${describeNodeSocket(socket)})`;
      const entry = withOpen(socket, sys, (fd) => {
        const inode = inodeOf(fd);
        if (inode === undefined) throw new SocketSelectError('SOCKET_SELECT_BAD_SOCKET', `${what} is not a socket.`);
        const found = table(query.protocol).find((e) => e.inode === inode) ?? table(other).find((e) => e.inode === inode);
        if (found === undefined) {
          throw new SocketSelectError('SOCKET_SELECT_BAD_SOCKET', `${what} is not a UDP or TCP socket of this network namespace.`);
        }
        if (found.protocol !== query.protocol) {
          throw new SocketSelectError(
            'SOCKET_SELECT_PROTOCOL_MISMATCH',
            `${what} is a ${found.protocol} socket, but the deployment's protocol is ${query.protocol}.`,
          );
        }
        if (!isSelectable(found)) {
          const state = found.protocol === 'udp' ? 'a bound, unconnected UDP socket' : 'a listening TCP socket';
          throw new SocketSelectError('SOCKET_SELECT_BAD_SOCKET', `${what} is not ${state}, so no datagram or connection is selected for it.`);
        }
        if (!hasReuseport(sys, fd)) throw noReuseport(what, found.port);
        return found;
      });
      if (entry === undefined) {
        throw new SocketSelectError('SOCKET_SELECT_BAD_SOCKET', `${what} is closed, or not bound yet (bind it before deploying).`);
      }
      if (entries.some((e) => e.inode === entry.inode)) {
        throw new SocketSelectError('SOCKET_SELECT_BAD_SOCKET', `${what} is the same socket as an earlier entry, and each executor must be its own socket.`);
      }
      const first = entries[0];
      if (first !== undefined && (first.family !== entry.family || first.address !== entry.address || first.port !== entry.port)) {
        throw new SocketSelectError(
          'SOCKET_SELECT_AMBIGUOUS_GROUP',
          `${what} is bound to ${entry.address} port ${entry.port}, but extra.sockets[0] to ${first.address} port ${first.port}: one deployment steers one reuseport group.`,
        );
      }
      entries.push(entry);
      explicit.push(socket);
    });
    const first = entries[0] as SocketTableEntry;
    if (query.port !== undefined && query.port !== first.port) {
      throw new SocketSelectError('SOCKET_SELECT_TARGET_INVALID', `extra.sockets are bound to port ${first.port}, but the target names port ${query.port}.`);
    }
    const info: SocketGroupInfo = {
      protocol: query.protocol,
      family: first.family,
      address: first.address,
      port: first.port,
      pid: process.pid,
      inodes: entries.map((e) => e.inode),
    };
    return new LocalSocketGroup(info, explicit, sys.pidfdOpen(process.pid), sys);
  }

  fill(array: ReuseportSockArray): void {
    this.#sockets.forEach((socket, k) => {
      const done = withOpen(socket, this.sys, (fd) => {
        if (inodeOf(fd) !== this.info.inodes[k]) return false;
        array.set(k, fd);
        return true;
      });
      if (done !== true) {
        throw new SocketSelectError('SOCKET_SELECT_SOCKET_UNAVAILABLE', `extra.sockets[${k}] was closed while it was being deployed to.`);
      }
    });
  }

  withMember<T>(action: (socket: Fd) => T): T | undefined {
    for (const [k, socket] of this.#sockets.entries()) {
      const result = withOpen(socket, this.sys, (fd) => (inodeOf(fd) === this.info.inodes[k] ? { value: action(fd) } : undefined));
      if (result !== undefined) return result.value;
    }
    return undefined;
  }
}

/**
 * Runs `action` with an open fd of `socket`: the application's own `Fd` as is, or a
 * duplicate of a Node socket's fd closed right after. Undefined when the socket is closed.
 */
function withOpen<T>(socket: ExplicitSocket, sys: Syscalls, action: (fd: Fd) => T): T | undefined {
  if (socket instanceof Fd) return socket.closed ? undefined : action(socket);
  const raw = nodeSocketFd(socket);
  return raw === undefined ? undefined : closingAfter(Fd.adopt(sys.dupFd(raw, 1), sys), action);
}
