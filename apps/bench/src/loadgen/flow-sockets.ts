import koffi from 'koffi';
import type { LoadTransport } from './load-transport.js';
import { pinnedBuffer, type PinnedBuffer } from './pinned-buffer.js';

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_SNDBUF = 7;
const EPOLL_CTL_ADD = 1;
const EPOLLIN = 1;
const EPOLL_CLOEXEC = 0o2000000;
/** struct epoll_event is packed on x86-64 (u32 events + u64 data); other architectures pad it. */
const EPOLL_EVENT_SIZE = process.arch === 'x64' ? 12 : 16;
const EPOLL_DATA_OFFSET = process.arch === 'x64' ? 4 : 8;
const SOCKET_BUFFER_BYTES = 4 << 20;
const RECEIVE_CAPACITY = 65536;

type Call = (...args: unknown[]) => number;

interface Libc {
  readonly socket: Call;
  readonly connect: Call;
  readonly send: Call;
  readonly recv: Call;
  readonly close: Call;
  readonly setsockopt: Call;
  readonly epollCreate1: Call;
  readonly epollCtl: Call;
  readonly epollWait: Call;
}

let libc: Libc | undefined;

/* Prototypes are declared once; buffers travel as addresses read once (an ArrayBuffer's
 * backing store never moves), so a call in the hot path marshals nothing but integers. */
function loadLibc(): Libc {
  if (libc !== undefined) return libc;
  const lib = koffi.load('libc.so.6');
  libc = {
    socket: lib.func('int socket(int domain, int type, int protocol)') as Call,
    connect: lib.func('int connect(int fd, const void *address, uint32_t length)') as Call,
    send: lib.func('long send(int fd, const void *buffer, size_t length, int flags)') as Call,
    recv: lib.func('long recv(int fd, void *buffer, size_t length, int flags)') as Call,
    close: lib.func('int close(int fd)') as Call,
    setsockopt: lib.func('int setsockopt(int fd, int level, int name, const void *value, uint32_t length)') as Call,
    epollCreate1: lib.func('int epoll_create1(int flags)') as Call,
    epollCtl: lib.func('int epoll_ctl(int epfd, int op, int fd, void *event)') as Call,
    epollWait: lib.func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)') as Call,
  };
  return libc;
}

function fail(call: string): never {
  const errno = koffi.errno();
  throw new Error(`${call} failed with errno ${errno}`);
}

/**
 * The UDP transport: one connected, non-blocking UDP socket per client flow (each its own
 * source port, so the server's reuseport group sees distinct 4-tuples), plus an epoll set
 * over all of them so the busy-poll loop learns which flows have replies with one system call.
 */
export class FlowSockets implements LoadTransport {
  readonly flows: number;
  readonly replyOffset = 0;
  readonly replyView: DataView;
  readonly #reply = pinnedBuffer(RECEIVE_CAPACITY);
  /** The flows the last epoll_wait found readable, and the next of them to read. */
  #ready = 0;
  #readyIndex = 0;
  #polledEmpty = false;
  readonly #libc: Libc;
  readonly #fds: Int32Array;
  readonly #epoll: number;
  readonly #events: PinnedBuffer;
  readonly #eventsView: DataView;
  readonly #maxEvents: number;
  #closed = false;

  constructor(host: readonly [number, number, number, number], port: number, count: number) {
    this.#libc = loadLibc();
    this.flows = count;
    this.replyView = this.#reply.view;
    this.#fds = new Int32Array(count).fill(-1);
    this.#maxEvents = count;
    this.#events = pinnedBuffer(EPOLL_EVENT_SIZE * count);
    this.#eventsView = this.#events.view;
    const epoll = this.#libc.epollCreate1(EPOLL_CLOEXEC);
    if (epoll < 0) fail('epoll_create1');
    this.#epoll = epoll;
    try {
      const address = new Uint8Array(16);
      const addressView = new DataView(address.buffer);
      addressView.setUint16(0, AF_INET, true);
      addressView.setUint16(2, port, false);
      address.set(host, 4);
      const bufferSize = new Int32Array([SOCKET_BUFFER_BYTES]);
      const event = new Uint8Array(EPOLL_EVENT_SIZE);
      const eventView = new DataView(event.buffer);
      for (let flow = 0; flow < count; flow++) {
        const fd = this.#libc.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) fail('socket');
        this.#fds[flow] = fd;
        // Large buffers: a burst of replies must not be dropped here and blamed on the server.
        this.#libc.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, bufferSize, 4);
        this.#libc.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, bufferSize, 4);
        if (this.#libc.connect(fd, address, address.length) < 0) fail('connect');
        eventView.setUint32(0, EPOLLIN, true);
        eventView.setUint32(EPOLL_DATA_OFFSET, flow, true);
        if (this.#libc.epollCtl(this.#epoll, EPOLL_CTL_ADD, fd, event) < 0) fail('epoll_ctl');
      }
    } catch (error) {
      this.close();
      throw error;
    }
  }

  send(flow: number, payload: PinnedBuffer, length: number): boolean {
    return this.#libc.send(this.#fds[flow], payload.address, length, 0) === length;
  }

  /** Each `send` is its own system call already. */
  flush(): void {}

  /** Reads the readable flows one datagram at a time, polling again (without waiting) when they are drained. */
  receive(): number {
    for (;;) {
      while (this.#readyIndex < this.#ready) {
        const flow = this.#eventsView.getUint32(this.#readyIndex * EPOLL_EVENT_SIZE + EPOLL_DATA_OFFSET, true);
        const n = this.#libc.recv(this.#fds[flow], this.#reply.address, RECEIVE_CAPACITY, 0);
        if (n >= 0) return n;
        this.#readyIndex++;
      }
      if (this.#polledEmpty) {
        this.#polledEmpty = false;
        return -1;
      }
      const n = this.#libc.epollWait(this.#epoll, this.#events.address, this.#maxEvents, 0);
      this.#ready = n < 0 ? 0 : n;
      this.#readyIndex = 0;
      if (this.#ready === 0) return -1;
      // After these flows are drained, report "none" once before polling again, so one call
      // of the loop's drain polls the kernel at most twice.
      this.#polledEmpty = true;
    }
  }

  /** A UDP socket's drops are not told apart from other sockets' here. */
  receiveDrops(): null {
    return null;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of this.#fds) if (fd >= 0) this.#libc.close(fd);
    if (this.#epoll >= 0) this.#libc.close(this.#epoll);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
