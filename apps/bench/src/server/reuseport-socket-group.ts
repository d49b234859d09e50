import { isSyscallError, nativeSyscalls, type Fd, type Syscalls } from '@syrup/backend-ebpf/syscalls';
import { UsageError } from './usage-error.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
const SO_RCVTIMEO = 20;
const SOCKADDR_IN_BYTES = 16;

export interface ReuseportSocketGroupOptions {
  /** IPv4 address in dotted form; the bench is loopback-only, so 127.0.0.1 in practice. */
  readonly address: string;
  readonly port: number;
  readonly count: number;
  /** SO_RCVBUF in bytes (forced past net.core.rmem_max when the process may). */
  readonly receiveBuffer: number;
  /** SO_RCVTIMEO: how long a blocking recvfrom waits before the worker looks at its stop flag. */
  readonly receiveTimeoutMs: number;
  readonly sys?: Syscalls;
}

/**
 * The server's UDP sockets, all bound with SO_REUSEPORT to one address and port, created in
 * order so that `sockets[k]` is worker k's. They are made here with raw syscalls (not
 * node:dgram) because the workers read them with blocking recvfrom on their own threads, and
 * because the group is passed to the socket-select hook as explicit `Fd`s, which makes
 * executor k of any policy exactly worker k.
 */
export class ReuseportSocketGroup implements Disposable {
  readonly sockets: readonly Fd[];
  /** The SO_RCVBUF the kernel granted (it reports twice the requested size, for its bookkeeping). */
  readonly receiveBuffer: number;

  private constructor(sockets: readonly Fd[], receiveBuffer: number) {
    this.sockets = sockets;
    this.receiveBuffer = receiveBuffer;
  }

  static open(options: ReuseportSocketGroupOptions): ReuseportSocketGroup {
    const sys = options.sys ?? nativeSyscalls();
    const address = sockaddrIn(options.address, options.port);
    const sockets: Fd[] = [];
    try {
      for (let k = 0; k < options.count; k++) {
        const socket = sys.socket(AF_INET, SOCK_DGRAM, 0);
        sockets.push(socket);
        sys.setsockopt(socket, SOL_SOCKET, SO_REUSEPORT, int32(1));
        setReceiveBuffer(sys, socket, options.receiveBuffer);
        sys.setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, timeval(options.receiveTimeoutMs));
        try {
          sys.bind(socket, address);
        } catch (error) {
          if (isSyscallError(error, 'EADDRINUSE')) {
            throw new UsageError(`port ${options.port} on ${options.address} is already in use by a socket outside this server's SO_REUSEPORT group.`, { cause: error });
          }
          if (isSyscallError(error, 'EACCES')) throw new UsageError(`binding port ${options.port} needs privileges this process lacks.`, { cause: error });
          throw error;
        }
      }
      const granted = new Uint8Array(4);
      sys.getsockopt(sockets[0] as Fd, SOL_SOCKET, SO_RCVBUF, granted);
      return new ReuseportSocketGroup(sockets, new DataView(granted.buffer).getInt32(0, true));
    } catch (error) {
      for (const socket of sockets) socket.close();
      throw error;
    }
  }

  close(): void {
    for (const socket of this.sockets) socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** SO_RCVBUFFORCE (CAP_NET_ADMIN) goes past net.core.rmem_max; without it SO_RCVBUF is capped there. */
function setReceiveBuffer(sys: Syscalls, socket: Fd, bytes: number): void {
  try {
    sys.setsockopt(socket, SOL_SOCKET, SO_RCVBUFFORCE, int32(bytes));
  } catch (error) {
    if (!isSyscallError(error, 'EPERM')) throw error;
    sys.setsockopt(socket, SOL_SOCKET, SO_RCVBUF, int32(bytes));
  }
}

function int32(value: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setInt32(0, value, true);
  return bytes;
}

/** `struct timeval` on a 64-bit ABI: two native-endian longs. */
function timeval(ms: number): Uint8Array {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setBigInt64(0, BigInt(Math.floor(ms / 1000)), true);
  view.setBigInt64(8, BigInt(Math.round((ms % 1000) * 1000)), true);
  return bytes;
}

/** `struct sockaddr_in`: the family in host order (little-endian here), port and address big-endian. */
function sockaddrIn(address: string, port: number): Uint8Array {
  const octets = address.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
    throw new UsageError(`'${address}' is not an IPv4 address such as 127.0.0.1.`);
  }
  const bytes = new Uint8Array(SOCKADDR_IN_BYTES);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, AF_INET, true);
  view.setUint16(2, port);
  bytes.set(octets, 4);
  return bytes;
}
