import { createSocket, type Socket } from 'node:dgram';
import { readFileSync, readlinkSync, readSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { nativeSyscalls, type Fd, type Syscalls } from '@syrup/backend-ebpf/syscalls';

/** A request in the wire format (big-endian): type, user id, request id, key. */
export function request(type: number, user = 0, key = 42n, id = 1n): Buffer {
  const bytes = Buffer.alloc(24);
  bytes.writeUInt32BE(type, 0);
  bytes.writeUInt32BE(user, 4);
  bytes.writeBigUInt64BE(id, 8);
  bytes.writeBigUInt64BE(key, 16);
  return bytes;
}

/**
 * A datagram too short for scan-avoid and token-qos (they answer PASS), so it reaches the
 * group whatever the buckets and the busy marks say. Sent after a burst from the same socket, its
 * arrival says the burst has been through the program.
 */
export function fence(tag: number): Buffer {
  return Buffer.from([0xfe, tag]);
}

/**
 * N UDP sockets in one SO_REUSEPORT group on a fresh loopback port, made through the eBPF
 * backend's syscall chokepoint rather than Node's dgram, whose `reusePort` option only exists
 * from Node 22.12: the group works under any Node that runs the suite. The sockets are
 * non-blocking; `poll()` reads what each has waiting (read(2) on a datagram socket takes one
 * datagram), so waiting for arrivals is polling.
 */
export class ReuseportGroup implements Disposable {
  readonly sockets: Fd[];
  /** Per socket, the payloads received so far, in order. */
  readonly received: Buffer[][];
  readonly port: number;

  private constructor(sockets: Fd[], port: number) {
    this.sockets = sockets;
    this.received = sockets.map(() => []);
    this.port = port;
  }

  static open(count: number, sys: Syscalls = nativeSyscalls()): ReuseportGroup {
    const sockets: Fd[] = [];
    try {
      // Port 0 for the first socket: the kernel picks a port nobody else uses; the others join it.
      sockets.push(reuseportUdpSocket(sys, 0));
      const port = boundPort(sockets[0] as Fd);
      for (let i = 1; i < count; i++) sockets.push(reuseportUdpSocket(sys, port));
      return new ReuseportGroup(sockets, port);
    } catch (error) {
      for (const fd of sockets) fd.close();
      throw error;
    }
  }

  /** Reads every datagram waiting on every socket into `received`. */
  poll(): void {
    const buffer = Buffer.alloc(2048);
    for (const [i, fd] of this.sockets.entries()) {
      for (;;) {
        let n: number;
        try {
          n = readSync(fd.raw, buffer);
        } catch (error) {
          if ((error as { code?: unknown }).code === 'EAGAIN') break;
          throw error;
        }
        this.received[i]?.push(Buffer.from(buffer.subarray(0, n)));
      }
    }
  }

  get counts(): number[] {
    this.poll();
    return this.received.map((list) => list.length);
  }

  /** Every datagram received so far, by any socket. */
  all(): Buffer[] {
    this.poll();
    return this.received.flat();
  }

  clear(): void {
    this.poll();
    for (const list of this.received) list.length = 0;
  }

  close(): void {
    for (const fd of this.sockets) fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;

/** A non-blocking UDP socket with SO_REUSEPORT, bound to 127.0.0.1:`port` (0 picks one). */
function reuseportUdpSocket(sys: Syscalls, port: number): Fd {
  const fd = sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  try {
    sys.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, new Uint8Array([1, 0, 0, 0]));
    const address = new Uint8Array(16); // struct sockaddr_in
    const view = new DataView(address.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port);
    address.set([127, 0, 0, 1], 4);
    sys.bind(fd, address);
    return fd;
  } catch (error) {
    fd.close();
    throw error;
  }
}

/** The local port of a bound UDP socket, from its inode's row in /proc/net/udp (the chokepoint has no getsockname). */
function boundPort(fd: Fd): number {
  const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd.raw}`))?.[1];
  const row = readFileSync('/proc/net/udp', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .find((fields) => fields[9] === inode);
  const local = row?.[1]?.split(':')[1];
  if (inode === undefined || local === undefined) throw new Error(`socket fd ${fd.raw} is not a bound UDP socket of this network namespace`);
  return Number.parseInt(local, 16);
}

/** A UDP socket on its own loopback source port: one flow. */
export class Sender implements Disposable {
  private constructor(readonly socket: Socket) {}

  static async open(): Promise<Sender> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    return new Sender(socket);
  }

  get port(): number {
    return this.socket.address().port;
  }

  send(port: number, payload: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(payload, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }

  close(): void {
    this.socket.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Polls `condition` every few milliseconds until it holds or `timeoutMs` passes; answers whether it held. */
export async function waitFor(condition: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}
