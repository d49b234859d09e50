import { Socket as DatagramSocket } from 'node:dgram';
import { Server as NetServer } from 'node:net';

/** A Node socket an application may pass as an executor: a UDP socket or a TCP server, both made with `reusePort: true`. */
export type NodeSocket = DatagramSocket | NetServer;

export function isNodeSocket(value: unknown): value is NodeSocket {
  return value instanceof DatagramSocket || value instanceof NetServer;
}

interface HandleWithFd {
  readonly fd?: unknown;
}

/*
 * Node has no public fd accessor, so there were two ways to find the socket behind a Node
 * object: read the fd of its libuv handle, or match socket inodes from /proc/self/fd against
 * /proc/net/udp(6)/tcp(6) by local port. The second cannot work here: every socket of a
 * reuseport group has the same local address and port, so /proc tells which inodes form
 * the group but not which inode is which Node object, and the application's executor order
 * (sockets[k] is executor k) would be lost. So the handle's `fd` it is. A dgram socket keeps
 * its handle in an internal state object; reading it from there avoids the `_handle` getter,
 * which prints the DEP0112 deprecation warning on every access. A net.Server's `_handle` is
 * a plain property. Both are Node internals: if a Node release moves them, this returns
 * undefined and the hook refuses with a sentence pointing at fds or `pid`.
 */

/** The fd number of a Node socket's handle, or undefined when it is closed (or Node hides it). */
export function nodeSocketFd(socket: NodeSocket): number | undefined {
  const handle = socket instanceof DatagramSocket ? datagramHandle(socket) : (socket as unknown as { _handle?: HandleWithFd | null })._handle;
  const fd = handle?.fd;
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? fd : undefined;
}

function datagramHandle(socket: DatagramSocket): HandleWithFd | null | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === 'state symbol');
  if (state === undefined) return undefined;
  const value = (socket as unknown as Record<symbol, { handle?: HandleWithFd | null } | undefined>)[state];
  return value?.handle;
}

/** How the hook names a Node socket in messages. */
export function describeNodeSocket(socket: NodeSocket): string {
  return socket instanceof DatagramSocket ? 'a dgram.Socket' : 'a net.Server';
}
