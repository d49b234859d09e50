import { createSocket } from 'node:dgram';
import koffi from 'koffi';
import type { Fd } from '../../src/fd.js';
import type { Syscalls } from '../../src/syscalls/syscalls.js';

/*
 * Sockets for tests, made through the syscall chokepoint as the runtime will get them (from
 * pidfd_getfd, never as Node objects): Node has no public way to hand out a dgram socket's
 * fd or to wrap one. Receiving and getsockname, which only tests need, call libc directly.
 */

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SO_COOKIE = 57;
const MSG_DONTWAIT = 0x40;
const EAGAIN = 11;

type Call = (...args: unknown[]) => number;
let libc: { recv: Call; getsockname: Call } | undefined;
function lib(): { recv: Call; getsockname: Call } {
  if (libc === undefined) {
    const l = koffi.load('libc.so.6');
    libc = {
      recv: l.func('long recv(int fd, _Out_ uint8_t *buffer, size_t length, int flags)') as Call,
      getsockname: l.func('int getsockname(int fd, _Out_ uint8_t *address, _Inout_ uint32_t *length)') as Call,
    };
  }
  return libc;
}

/** `struct sockaddr_in` of a dotted IPv4 address and port. */
export function sockaddrIn(address: string, port: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port);
  bytes.set(address.split('.').map(Number), 4);
  return bytes;
}

/** `struct sockaddr_in` for 127.0.0.1:`port`. */
export function loopback(port: number): Uint8Array {
  return sockaddrIn('127.0.0.1', port);
}

/** A non-blocking UDP socket with SO_REUSEPORT, bound to 127.0.0.1:`port` (0 picks one). */
export function reuseportUdpSocket(sys: Syscalls, port: number): Fd {
  const fd = sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  try {
    sys.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, new Uint8Array([1, 0, 0, 0]));
    sys.bind(fd, loopback(port));
    return fd;
  } catch (error) {
    fd.close();
    throw error;
  }
}

/** The port a socket is bound to. */
export function boundPort(fd: Fd): number {
  const address = new Uint8Array(16);
  const length = new Uint32Array([16]);
  if (lib().getsockname(fd.raw, address, length) < 0) throw new Error(`getsockname failed with errno ${koffi.errno()}`);
  return new DataView(address.buffer).getUint16(2, false);
}

/** Every datagram (or frame) waiting on a non-blocking socket, read now. */
export function receiveWaiting(fd: Fd, size = 4096): Uint8Array[] {
  const received: Uint8Array[] = [];
  const buffer = new Uint8Array(size);
  for (;;) {
    const n = lib().recv(fd.raw, buffer, buffer.length, MSG_DONTWAIT);
    if (n < 0) {
      const errno = koffi.errno();
      if (errno === EAGAIN) return received;
      throw new Error(`recv failed with errno ${errno}`);
    }
    received.push(buffer.slice(0, n));
  }
}

/** SO_COOKIE: the 64-bit id the kernel gives a socket, which socket arrays answer lookups with. */
export function socketCookie(sys: Syscalls, fd: Fd): bigint {
  const value = new Uint8Array(8);
  sys.getsockopt(fd, SOL_SOCKET, SO_COOKIE, value);
  return new DataView(value.buffer).getBigUint64(0, true);
}

/** Sends each payload as one datagram to 127.0.0.1:`port` from a throwaway Node socket, waiting for each send. */
export async function sendDatagrams(port: number, payloads: readonly (readonly number[])[]): Promise<void> {
  const socket = createSocket('udp4');
  try {
    for (const payload of payloads) {
      await new Promise<void>((resolve, reject) => socket.send(Buffer.from(payload), port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
    }
  } finally {
    socket.close();
  }
}

/** Polls `fds` until `total` datagrams arrived in all (or the time is up); returns them per socket. */
export async function collect(fds: readonly Fd[], total: number, timeoutMs = 2000): Promise<Uint8Array[][]> {
  const got: Uint8Array[][] = fds.map(() => []);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    fds.forEach((fd, i) => got[i]?.push(...receiveWaiting(fd)));
    if (got.reduce((n, list) => n + list.length, 0) >= total || Date.now() > deadline) return got;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

