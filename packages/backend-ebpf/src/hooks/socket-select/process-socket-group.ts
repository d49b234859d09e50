import { isSyscallError } from '../../errors/syscall-error.js';
import type { Fd } from '../../fd.js';
import type { ReuseportSockArray } from '../../maps/system/reuseport-sock-array.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { closingAfter, hasReuseport, inodeOf, noReuseport, SocketGroup, type SocketGroupInfo } from './socket-group.js';
import { SocketSelectError } from './socket-select-error.js';
import {
  canonicalAddress,
  isSelectable,
  processIds,
  readSocketTable,
  socketFdsOf,
  type ProcessSocketFd,
  type SocketProtocol,
  type SocketTableEntry,
} from './socket-table.js';

export interface ProcessGroupQuery {
  readonly protocol: SocketProtocol;
  readonly port: number;
  /** The owner; without it, the process holding the sockets bound to the port is looked up. */
  readonly pid?: number;
  /** The group's local address, when the port has more than one group (127.0.0.1 and ::1). */
  readonly address?: string;
}

/**
 * A reuseport group bound by another process (or this one, found the same way), reached
 * through pidfd_getfd. Executor k is the k-th socket of the group in ascending order of the
 * owner's fd numbers; for a process that never closes sockets that is creation order.
 */
export class ProcessSocketGroup extends SocketGroup {
  /** The owner's fd numbers at resolution, by executor; only a first guess, checked by inode on every take. */
  readonly #fds: readonly number[];

  private constructor(info: SocketGroupInfo, fds: readonly number[], pidfd: Fd, sys: Syscalls) {
    super(info, pidfd, sys);
    this.#fds = fds;
  }

  /**
   * Finds the group the query names and checks it can take a program: every socket must have
   * SO_REUSEPORT. Refuses with one sentence (a `SocketSelectError`) otherwise; on refusal
   * nothing stays open.
   */
  static resolve(query: ProcessGroupQuery, sys: Syscalls): ProcessSocketGroup {
    const { protocol, port } = query;
    const where = `${protocol} port ${port}`;
    if (query.pid !== undefined && socketFdsOf(query.pid) === undefined) {
      throw new SocketSelectError('SOCKET_SELECT_NOT_OWNER', `process ${query.pid} does not exist (or its fds cannot be read), so it owns no socket on ${where}.`);
    }
    let bound = readSocketTable(protocol, query.pid ?? 'self').filter((e) => e.port === port && isSelectable(e));
    if (query.pid !== undefined && bound.length > 0) {
      // Only the named process's sockets count: others on the port are not its to steer.
      const held = new Set((socketFdsOf(query.pid) ?? []).map((s) => s.inode));
      const own = bound.filter((e) => held.has(e.inode));
      if (own.length === 0) {
        throw new SocketSelectError(
          'SOCKET_SELECT_NOT_OWNER',
          `process ${query.pid} holds none of the ${bound.length} socket(s) on ${where}, so it cannot be the target of a deployment there.`,
        );
      }
      bound = own;
    }
    const group = pickGroup(bound, query);
    const inodes = new Set(group.map((e) => e.inode));
    const first = group[0] as SocketTableEntry;

    const pid = query.pid ?? ownerOf(inodes, where);
    const owned = dedupeByInode((socketFdsOf(pid) ?? []).filter((s) => inodes.has(s.inode)));
    if (owned.length === 0) {
      throw new SocketSelectError('SOCKET_SELECT_NOT_OWNER', `process ${pid} closed its sockets on ${where} before they could be taken.`);
    }
    let pidfd: Fd;
    try {
      pidfd = sys.pidfdOpen(pid);
    } catch (error) {
      throw new SocketSelectError('SOCKET_SELECT_NOT_OWNER', `process ${pid} exited before its sockets on ${where} could be taken.`, { cause: error });
    }
    const info: SocketGroupInfo = {
      protocol,
      family: first.family,
      address: first.address,
      port,
      pid,
      inodes: owned.map((s) => s.inode),
    };
    const resolved = new ProcessSocketGroup(info, owned.map((s) => s.fd), pidfd, sys);
    try {
      owned.forEach((socket, k) =>
        closingAfter(resolved.#take(k), (dup) => {
          if (!hasReuseport(sys, dup)) throw noReuseport(`socket fd ${socket.fd} of process ${pid}`, port);
        }),
      );
      return resolved;
    } catch (error) {
      resolved.close();
      throw error;
    }
  }

  /**
   * The group a deployment recorded earlier (restored after a daemon restart): `info` as it
   * was at attach time, reached through `pidfd`, which the caller opened and checked and which
   * this group now owns. Nothing is resolved again: the sockets are found by inode on each use.
   */
  static adopt(info: SocketGroupInfo, pidfd: Fd, sys: Syscalls): ProcessSocketGroup {
    const byInode = new Map((socketFdsOf(info.pid) ?? []).map((s) => [s.inode, s.fd]));
    return new ProcessSocketGroup(info, info.inodes.map((inode) => byInode.get(inode) ?? -1), pidfd, sys);
  }

  fill(array: ReuseportSockArray): void {
    for (let k = 0; k < this.size; k++) closingAfter(this.#take(k), (dup) => array.set(k, dup));
  }

  withMember<T>(action: (socket: Fd) => T): T | undefined {
    const inodes = new Set(this.info.inodes);
    for (const candidate of socketFdsOf(this.info.pid)?.filter((s) => inodes.has(s.inode)) ?? []) {
      const dup = this.#tryTake(candidate);
      if (dup !== undefined) return closingAfter(dup, action);
    }
    return undefined;
  }

  /** A duplicate of executor k's socket; looks it up again by inode when its fd number moved. */
  #take(k: number): Fd {
    const inode = this.info.inodes[k] as number;
    const guess = this.#fds[k] as number;
    let dup = this.#tryTake({ fd: guess, inode });
    for (const moved of socketFdsOf(this.info.pid) ?? []) {
      if (dup !== undefined) break;
      if (moved.inode === inode && moved.fd !== guess) dup = this.#tryTake(moved);
    }
    if (dup === undefined) {
      throw new SocketSelectError(
        'SOCKET_SELECT_SOCKET_UNAVAILABLE',
        `socket ${k} of ${this.toString()} (inode ${inode}) was closed, or its process exited, while it was being deployed to.`,
      );
    }
    return dup;
  }

  /**
   * pidfd_getfd of one of the owner's fds, kept only if it is still the expected socket: the
   * owner may have closed that number and reused it since /proc was read.
   */
  #tryTake(socket: ProcessSocketFd): Fd | undefined {
    let dup: Fd;
    try {
      dup = this.sys.pidfdGetfd(this.pidfd, socket.fd);
    } catch (error) {
      // EBADF: the fd is closed; ESRCH: the process exited.
      if (isSyscallError(error, 'EBADF') || isSyscallError(error, 'ESRCH')) return undefined;
      throw new SocketSelectError(
        'SOCKET_SELECT_SOCKET_UNAVAILABLE',
        `fd ${socket.fd} of process ${this.info.pid} cannot be taken with pidfd_getfd (${isSyscallError(error) ? error.code : String(error)}); deploying to another process's sockets needs ptrace rights over it (CAP_SYS_PTRACE or the same uid under the Yama policy).`,
        { cause: error },
      );
    }
    if (inodeOf(dup) === socket.inode) return dup;
    dup.close();
    return undefined;
  }
}

/** The one group among the port's selectable sockets the query names, or a refusal. */
function pickGroup(bound: readonly SocketTableEntry[], query: ProcessGroupQuery): SocketTableEntry[] {
  const { protocol, port } = query;
  if (bound.length === 0) {
    const scope = query.pid === undefined ? '' : ` in the network namespace of process ${query.pid}`;
    const what = protocol === 'udp' ? 'bound to' : 'listening on';
    throw new SocketSelectError('SOCKET_SELECT_NO_SOCKETS', `no ${protocol} socket is ${what} port ${port}${scope}, so there is no socket group to deploy to.`);
  }
  const groups = new Map<string, SocketTableEntry[]>();
  for (const entry of bound) {
    const key = `${entry.family}/${entry.address}`;
    groups.set(key, [...(groups.get(key) ?? []), entry]);
  }
  if (query.address !== undefined) {
    const wanted = canonicalAddress(query.address);
    const match = [...groups.values()].find((g) => g[0]?.address === wanted);
    if (match === undefined) {
      throw new SocketSelectError(
        'SOCKET_SELECT_NO_SOCKETS',
        `no ${protocol} socket on port ${port} is bound to address ${query.address} (there are sockets on ${addressList(groups)}).`,
      );
    }
    return match;
  }
  if (groups.size > 1) {
    throw new SocketSelectError(
      'SOCKET_SELECT_AMBIGUOUS_GROUP',
      `${protocol} port ${port} has sockets in ${groups.size} reuseport groups (${addressList(groups)}); name one with extra.address.`,
    );
  }
  return [...groups.values()][0] as SocketTableEntry[];
}

function addressList(groups: ReadonlyMap<string, readonly SocketTableEntry[]>): string {
  return [...groups.values()].map((g) => g[0]?.address ?? '?').join(', ');
}

/**
 * The process that owns a group found by port alone: the one holding every socket of it. A
 * server that forked keeps the same sockets in several processes; the lowest pid (usually the
 * parent) is taken then. Sockets spread over processes, none holding all (one socket per
 * pre-forked worker), are refused: which one owns the deployment must be named with `pid`.
 */
function ownerOf(inodes: ReadonlySet<number>, where: string): number {
  const holders = new Map<number, number>();
  for (const pid of processIds()) {
    const held = new Set((socketFdsOf(pid) ?? []).filter((s) => inodes.has(s.inode)).map((s) => s.inode));
    if (held.size > 0) holders.set(pid, held.size);
  }
  const complete = [...holders].filter(([, count]) => count === inodes.size).map(([pid]) => pid);
  if (complete.length > 0) return Math.min(...complete);
  if (holders.size === 0) {
    throw new SocketSelectError('SOCKET_SELECT_NOT_OWNER', `no process visible here holds the sockets on ${where} (is /proc mounted with hidepid?).`);
  }
  const pids = [...holders.keys()].sort((a, b) => a - b);
  throw new SocketSelectError(
    'SOCKET_SELECT_AMBIGUOUS_OWNER',
    `the sockets on ${where} are spread over processes ${pids.slice(0, 5).join(', ')}${pids.length > 5 ? ', ...' : ''}, none holding them all; name the owner with pid.`,
  );
}

/** One entry per socket, at its lowest fd (a socket dup'ed inside its process is still one executor). */
function dedupeByInode(sockets: readonly ProcessSocketFd[]): ProcessSocketFd[] {
  const seen = new Set<number>();
  const unique: ProcessSocketFd[] = [];
  for (const socket of sockets) {
    if (seen.has(socket.inode)) continue;
    seen.add(socket.inode);
    unique.push(socket);
  }
  return unique;
}
