import koffi from 'koffi';

const EINTR = 4;
const EAGAIN = 11;
const ENOBUFS = 105;
const ECONNREFUSED = 111;
/** Room for any sockaddr (struct sockaddr_storage). */
const ADDRESS_BYTES = 128;

type Call = (...args: unknown[]) => number;

/**
 * One worker thread's view of its UDP socket: blocking recvfrom and sendto through libc, on
 * a raw fd the main thread owns (fds are process-wide, so a number is all a thread needs).
 * Everything a call touches is preallocated and passed by address, so the request loop
 * allocates nothing; the socket's SO_RCVTIMEO bounds each wait, so the loop gets to look at
 * its stop flag every so often even when no datagram arrives.
 */
export class UdpEndpoint {
  readonly #fd: number;
  readonly #recvfrom: Call;
  readonly #sendto: Call;
  readonly #packetAddress: bigint;
  readonly #packetBytes: number;
  readonly #peerAddress: bigint;
  readonly #peerLength: Uint32Array;
  readonly #peerLengthAddress: bigint;
  /** Replies the kernel refused (a full send buffer, a peer gone); the server does not retry. */
  droppedReplies = 0;

  /** `packet` receives each datagram and holds the reply; its backing store never moves. */
  constructor(fd: number, packet: ArrayBuffer) {
    const libc = koffi.load('libc.so.6');
    this.#recvfrom = libc.func('long recvfrom(int fd, void *buffer, size_t length, int flags, void *address, void *addressLength)') as Call;
    this.#sendto = libc.func('long sendto(int fd, void *buffer, size_t length, int flags, void *address, uint32_t addressLength)') as Call;
    this.#fd = fd;
    this.#packetAddress = koffi.address(packet) as bigint;
    this.#packetBytes = packet.byteLength;
    const peer = new ArrayBuffer(ADDRESS_BYTES + 8);
    this.#peerAddress = koffi.address(peer) as bigint;
    this.#peerLength = new Uint32Array(peer, ADDRESS_BYTES, 1);
    this.#peerLengthAddress = this.#peerAddress + BigInt(ADDRESS_BYTES);
  }

  /** Waits for one datagram; its length, or -1 when the wait timed out or a signal interrupted it. */
  receive(): number {
    this.#peerLength[0] = ADDRESS_BYTES;
    const n = this.#recvfrom(this.#fd, this.#packetAddress, this.#packetBytes, 0, this.#peerAddress, this.#peerLengthAddress);
    if (n >= 0) return n;
    const errno = koffi.errno();
    if (errno === EAGAIN || errno === EINTR) return -1;
    throw new Error(`recvfrom on fd ${this.#fd} failed with errno ${errno}.`);
  }

  /** Sends the first `length` bytes of the packet buffer to whoever sent the last datagram. */
  reply(length: number): void {
    const n = this.#sendto(this.#fd, this.#packetAddress, length, 0, this.#peerAddress, this.#peerLength[0]);
    if (n >= 0) return;
    const errno = koffi.errno();
    if (errno === EAGAIN || errno === ENOBUFS || errno === ECONNREFUSED || errno === EINTR) {
      this.droppedReplies++;
      return;
    }
    throw new Error(`sendto on fd ${this.#fd} failed with errno ${errno}.`);
  }
}
