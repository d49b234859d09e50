import { execFileSync } from 'node:child_process';
import { ipv4HeaderChecksum, XskSocketGroup, type XskSocket, type XskUmem } from '@syrup/backend-ebpf/xsk';
import type { LoadTransport } from './load-transport.js';
import type { PinnedBuffer } from './pinned-buffer.js';
import { REPLY_PAYLOAD_OFFSET, ReplySteering } from './reply-steering.js';

/** The flows' UDP source ports: FIRST_SOURCE_PORT + flow (nothing binds them; replies never reach the stack). */
const FIRST_SOURCE_PORT = 41000;
const FRAME_COUNT = 8192;
const RING_SIZE = 4096;
/** Replies taken off the RX ring per batch, before the loop goes back to sending. */
const RECEIVE_BATCH = 64;

type Address = readonly [number, number, number, number];

/** What the frames need to know about the path to the server, read from the routing and neighbour tables. */
export interface XskPath {
  readonly interface: string;
  readonly sourceMac: Uint8Array;
  readonly sourceAddress: Address;
  readonly serverMac: Uint8Array;
}

function ipJson(args: readonly string[]): unknown {
  return JSON.parse(execFileSync('ip', ['-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
}

function macBytes(mac: string): Uint8Array {
  return Uint8Array.from(mac.split(':').map((b) => Number.parseInt(b, 16)));
}

/**
 * The interface, addresses and MACs of this namespace's route to `host`. The server's MAC must
 * be a known neighbour (the runner adds a static entry), since AF_XDP frames skip ARP.
 */
export function xskPathTo(host: Address): XskPath {
  const target = host.join('.');
  const [route] = ipJson(['route', 'get', target]) as { dev?: string; prefsrc?: string }[];
  if (route?.dev === undefined || route.prefsrc === undefined) throw new RangeError(`--transport af-xdp: no route to ${target} in this namespace`);
  const [link] = ipJson(['link', 'show', 'dev', route.dev]) as { address?: string }[];
  const neighbours = ipJson(['neigh', 'show', target, 'dev', route.dev]) as { lladdr?: string }[];
  const serverMac = neighbours.find((n) => n.lladdr !== undefined)?.lladdr;
  if (link?.address === undefined || serverMac === undefined) throw new RangeError(`--transport af-xdp: ${target} has no known MAC address on ${route.dev} (AF_XDP frames skip ARP)`);
  const source = route.prefsrc.split('.').map(Number);
  if (source.length !== 4 || source.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) throw new RangeError(`--transport af-xdp: the route to ${target} has no IPv4 source address`);
  return { interface: route.dev, sourceMac: macBytes(link.address), sourceAddress: [source[0]!, source[1]!, source[2]!, source[3]!], serverMac: macBytes(serverMac) };
}

/** Ethernet, IPv4 and UDP headers of one flow's requests of `payloadBytes` (UDP checksum 0, which IPv4 allows). */
export function requestHeaders(path: XskPath, host: Address, port: number, sourcePort: number, payloadBytes: number): Uint8Array {
  const frame = new Uint8Array(REPLY_PAYLOAD_OFFSET);
  const view = new DataView(frame.buffer);
  frame.set(path.serverMac, 0);
  frame.set(path.sourceMac, 6);
  view.setUint16(12, 0x0800);
  frame[14] = 0x45;
  view.setUint16(16, 20 + 8 + payloadBytes);
  view.setUint16(20, 0x4000); // don't fragment
  frame[22] = 64;
  frame[23] = 17;
  frame.set(path.sourceAddress, 26);
  frame.set(host, 30);
  view.setUint16(24, ipv4HeaderChecksum(frame, 14));
  view.setUint16(34, sourcePort);
  view.setUint16(36, port);
  view.setUint16(38, 8 + payloadBytes);
  return frame;
}

/**
 * The AF_XDP transport: requests are built in UMEM frames and sent from one AF_XDP socket on
 * the generator's interface (copy mode: one sendto per batch instead of a UDP send per
 * request), and an XDP program there steers the server's replies to the same socket, so no
 * request or reply crosses the generator's UDP stack. This is what lets one CPU offer the
 * MICA server more load than it can serve. Only on a veth the runner made: XDP in driver mode
 * does not run on loopback.
 *
 * Every request of a run has the same length (`payloadBytes`), so each flow's headers are
 * built once. A reply's frame goes back to the UMEM when it is taken; the kernel gets it
 * again only at the next batch's refill, after the loop has read it.
 */
export class XskTransport implements LoadTransport {
  readonly flows: number;
  readonly replyView: DataView;
  replyOffset = 0;
  readonly #group: XskSocketGroup;
  readonly #socket: XskSocket;
  readonly #umem: XskUmem;
  readonly #memory: Uint8Array;
  readonly #steering: ReplySteering;
  readonly #headers: Uint8Array[];
  readonly #payloadBytes: number;
  #queued = 0;
  #batch = 0;
  #taken = 0;
  #closed = false;

  private constructor(group: XskSocketGroup, steering: ReplySteering, headers: Uint8Array[], payloadBytes: number) {
    this.#group = group;
    this.#socket = group.sockets[0]!;
    this.#umem = group.umem;
    this.#memory = group.umem.memory;
    this.replyView = new DataView(this.#memory.buffer, this.#memory.byteOffset, this.#memory.byteLength);
    this.#steering = steering;
    this.#headers = headers;
    this.#payloadBytes = payloadBytes;
    this.flows = headers.length;
  }

  /** Opens the socket on the interface of this namespace's route to `host` and steers the replies from `port` to it; on failure leaves nothing behind. */
  static async open(host: Address, port: number, flows: number, payloadBytes: number): Promise<XskTransport> {
    const path = xskPathTo(host);
    const headers = Array.from({ length: flows }, (_, flow) => requestHeaders(path, host, port, FIRST_SOURCE_PORT + flow, payloadBytes));
    const group = await XskSocketGroup.open({
      ifname: path.interface,
      queue: 0,
      count: 1,
      frameCount: FRAME_COUNT,
      fillRingSize: RING_SIZE,
      completionRingSize: RING_SIZE,
      fillTarget: RING_SIZE,
      rxRingSize: RING_SIZE,
      txRingSize: RING_SIZE,
    });
    try {
      const steering = ReplySteering.attach(path.interface, port, group.sockets[0]!.fd);
      return new XskTransport(group, steering, headers, payloadBytes);
    } catch (error) {
      group.close();
      throw error;
    }
  }

  send(flow: number, payload: PinnedBuffer, length: number): boolean {
    if (length !== this.#payloadBytes) throw new RangeError(`this AF_XDP transport sends ${this.#payloadBytes}-byte requests, not ${length}`);
    const umem = this.#umem;
    let address = umem.allocFrame();
    if (address === undefined) {
      umem.reapCompletions();
      address = umem.allocFrame();
      if (address === undefined) return false;
    }
    this.#memory.set(this.#headers[flow]!, address);
    this.#memory.set(length === payload.bytes.length ? payload.bytes : payload.bytes.subarray(0, length), address + REPLY_PAYLOAD_OFFSET);
    if (!this.#socket.transmit(address, REPLY_PAYLOAD_OFFSET + length)) {
      umem.releaseFrame(address);
      return false;
    }
    this.#queued++;
    return true;
  }

  flush(): void {
    if (this.#queued === 0) return;
    this.#queued = this.#socket.kick();
  }

  /** Takes up to RECEIVE_BATCH replies, then answers -1 once, so a stream of replies never keeps the loop from sending. */
  receive(): number {
    const rx = this.#socket.rx!;
    const memory = this.#memory;
    while (this.#taken < this.#batch) {
      const address = rx.address(this.#taken);
      const length = rx.length(this.#taken++);
      this.#umem.releaseFrame(address);
      // The program passes only option-less IPv4/UDP from the server's port; anything else is a stray (length 0).
      if (length < REPLY_PAYLOAD_OFFSET || memory[address + 23] !== 17) return 0;
      this.replyOffset = address + REPLY_PAYLOAD_OFFSET;
      const udpLength = (memory[address + 38]! << 8) | memory[address + 39]!;
      return Math.max(0, Math.min(length - REPLY_PAYLOAD_OFFSET, udpLength - 8));
    }
    if (this.#batch > 0) {
      rx.release(this.#batch);
      this.#batch = 0;
      this.#taken = 0;
      this.#umem.refill();
      return -1;
    }
    this.#batch = rx.available(RECEIVE_BATCH);
    return this.#batch > 0 ? this.receive() : -1;
  }

  /** Replies the kernel could not hand to the socket (no FILL frame, RX ring full). */
  receiveDrops(): number {
    const statistics = this.#socket.statistics();
    return Number(statistics.rxDropped + statistics.rxRingFull);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#steering.close();
    this.#group.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
