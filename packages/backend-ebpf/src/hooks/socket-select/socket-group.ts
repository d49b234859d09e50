import { isSyscallError } from '../../errors/syscall-error.js';
import type { Fd } from '../../fd.js';
import type { ReuseportSockArray } from '../../maps/system/reuseport-sock-array.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { SocketSelectError } from './socket-select-error.js';
import { socketInodeAt, type SocketProtocol } from './socket-table.js';

const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;

/** What a deployment at socket-select steers: one SO_REUSEPORT group, as found at attach time. */
export interface SocketGroupInfo {
  readonly protocol: SocketProtocol;
  readonly family: 4 | 6;
  /** The group's local address in canonical text (`127.0.0.1`, `::`). */
  readonly address: string;
  readonly port: number;
  /** The process whose sockets these are (this process for sockets passed explicitly). */
  readonly pid: number;
  /** Socket inodes in executor order: executor k is the socket with inode `inodes[k]`. */
  readonly inodes: readonly number[];
}

/**
 * A resolved reuseport group and the way to reach its sockets. It never keeps a socket fd
 * open between calls: a socket taken from another process lives in this one only while it
 * is put into the socket array or used for one setsockopt, so the group (and its port) goes
 * away when its owner closes it or exits, exactly as without Syrup. What it keeps is a
 * pidfd of the owner, which pins no socket and cannot be fooled by pid reuse.
 */
export abstract class SocketGroup implements Disposable {
  readonly info: SocketGroupInfo;
  readonly sys: Syscalls;
  readonly #pidfd: Fd;

  protected constructor(info: SocketGroupInfo, pidfd: Fd, sys: Syscalls) {
    this.info = info;
    this.#pidfd = pidfd;
    this.sys = sys;
  }

  get size(): number {
    return this.info.inodes.length;
  }

  /** A pidfd of the owning process, borrowed: readable (epoll) once it exits. Closed with the group. */
  get pidfd(): Fd {
    return this.#pidfd;
  }

  /** Puts socket k at index k of `array`; every fd taken for it is closed right after. */
  abstract fill(array: ReuseportSockArray): void;

  /**
   * Runs `action` with an open fd of one member of the group (for SO_ATTACH/DETACH), closing
   * it afterwards if it was taken for the call; undefined when every member is closed.
   */
  abstract withMember<T>(action: (socket: Fd) => T): T | undefined;

  close(): void {
    this.#pidfd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    const { protocol, address, port, pid } = this.info;
    return `the ${protocol} reuseport group on ${address.includes(':') ? `[${address}]` : address}:${port} of process ${pid}`;
  }
}

/** The inode of a socket fd of this process, or undefined when it is not a socket. */
export function inodeOf(socket: Fd): number | undefined {
  return socketInodeAt(`/proc/self/fd/${socket.raw}`);
}

/** Whether the socket has SO_REUSEPORT set (only such sockets form a group that takes a program). */
export function hasReuseport(sys: Syscalls, socket: Fd): boolean {
  const value = new Uint8Array(4);
  try {
    sys.getsockopt(socket, SOL_SOCKET, SO_REUSEPORT, value);
  } catch (error) {
    if (isSyscallError(error, 'ENOTSOCK')) return false;
    throw error;
  }
  return new DataView(value.buffer).getInt32(0, true) !== 0;
}

/** Runs `action` with `socket` and closes it afterwards, whatever happens. */
export function closingAfter<T>(socket: Fd, action: (socket: Fd) => T): T {
  try {
    return action(socket);
  } finally {
    socket.close();
  }
}

/** The refusal for a socket that was bound without SO_REUSEPORT. */
export function noReuseport(what: string, port: number): SocketSelectError {
  return new SocketSelectError(
    'SOCKET_SELECT_NO_REUSEPORT',
    `${what} on port ${port} was bound without SO_REUSEPORT, so it forms no reuseport group a policy could steer (bind every socket with SO_REUSEPORT, e.g. reusePort: true in Node).`,
  );
}
