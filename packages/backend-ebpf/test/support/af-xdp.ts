import type { Fd } from '../../src/fd.js';
import { inNetworkNamespace } from '../../src/links/network-namespace.js';
import { Mmap, type Syscalls } from '../../src/syscalls/syscalls.js';

/*
 * A minimal AF_XDP socket for tests (Documentation/networking/af_xdp.rst): a UMEM of
 * page-sized frames, FILL and COMPLETION rings (both mandatory for bind), an RX ring, all
 * through the syscall chokepoint. Only receiving is implemented.
 */

export const AF_XDP = 44;
const SOCK_RAW = 3;
const SOL_XDP = 283;
const XDP_MMAP_OFFSETS = 1;
const XDP_RX_RING = 2;
const XDP_UMEM_REG = 4;
const XDP_UMEM_FILL_RING = 5;
const XDP_UMEM_COMPLETION_RING = 6;
const XDP_PGOFF_RX_RING = 0;
const XDP_UMEM_PGOFF_FILL_RING = 0x1_0000_0000;
const FRAME_SIZE = 4096;
const RING_SIZE = 64;
const XDP_DESC_SIZE = 16;

interface Mapping {
  readonly address: bigint;
  readonly length: number;
  readonly view: DataView;
  readonly words: Uint32Array;
}

export interface XskSocket {
  readonly fd: Fd;
  /** Binds to `ifindex`/`queue` (in the namespace the socket was made in). */
  bind(ifindex: number, queue: number): void;
  /** Frames received so far and not yet read, consumed. */
  receive(): Uint8Array[];
  close(): void;
}

function setInt(sys: Syscalls, fd: Fd, option: number, value: number): void {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, value, true);
  sys.setsockopt(fd, SOL_XDP, option, bytes);
}

/** An AF_XDP socket with its UMEM and rings set up, created in namespace `netns` (this thread's by default), not bound yet. */
export function createXsk(sys: Syscalls, netns?: string): XskSocket {
  const fd = netns === undefined ? sys.socket(AF_XDP, SOCK_RAW, 0) : inNetworkNamespace(netns, () => sys.socket(AF_XDP, SOCK_RAW, 0), { sys });
  const mappings: Mapping[] = [];
  const map = (length: number, options: { fd?: Fd; offset?: number }): Mapping => {
    const address = sys.mmap({
      length,
      prot: Mmap.PROT_READ | Mmap.PROT_WRITE,
      flags: options.fd === undefined ? Mmap.MAP_PRIVATE | Mmap.MAP_ANONYMOUS : Mmap.MAP_SHARED,
      ...(options.fd === undefined ? {} : { fd: options.fd, offset: options.offset ?? 0 }),
    });
    const buffer = sys.memoryView(address, length);
    const mapping = { address, length, view: new DataView(buffer), words: new Uint32Array(buffer, 0, Math.floor(length / 4)) };
    mappings.push(mapping);
    return mapping;
  };
  const close = (): void => {
    for (const m of mappings.splice(0)) sys.munmap(m.address, m.length);
    fd.close();
  };
  try {
    const umem = map(FRAME_SIZE * RING_SIZE * 2, {});
    const reg = new Uint8Array(32);
    const regView = new DataView(reg.buffer);
    regView.setBigUint64(0, umem.address, true);
    regView.setBigUint64(8, BigInt(umem.length), true);
    regView.setUint32(16, FRAME_SIZE, true);
    sys.setsockopt(fd, SOL_XDP, XDP_UMEM_REG, reg);
    setInt(sys, fd, XDP_UMEM_FILL_RING, RING_SIZE);
    setInt(sys, fd, XDP_UMEM_COMPLETION_RING, RING_SIZE);
    setInt(sys, fd, XDP_RX_RING, RING_SIZE);
    const offsets = new Uint8Array(128);
    sys.getsockopt(fd, SOL_XDP, XDP_MMAP_OFFSETS, offsets);
    const o = new DataView(offsets.buffer);
    // struct xdp_ring_offset { producer, consumer, desc, flags } for rx (0), tx (32), fill (64), completion (96).
    const ring = (base: number): { producer: number; consumer: number; desc: number } => ({
      producer: Number(o.getBigUint64(base, true)),
      consumer: Number(o.getBigUint64(base + 8, true)),
      desc: Number(o.getBigUint64(base + 16, true)),
    });
    const rxOff = ring(0);
    const fillOff = ring(64);
    const rx = map(rxOff.desc + RING_SIZE * XDP_DESC_SIZE, { fd, offset: XDP_PGOFF_RX_RING });
    const fill = map(fillOff.desc + RING_SIZE * 8, { fd, offset: XDP_UMEM_PGOFF_FILL_RING });
    // Hand the kernel every frame of the first half of the UMEM to receive into.
    for (let i = 0; i < RING_SIZE; i++) fill.view.setBigUint64(fillOff.desc + i * 8, BigInt(i * FRAME_SIZE), true);
    Atomics.store(fill.words, fillOff.producer / 4, RING_SIZE);
    const umemBytes = new Uint8Array(sys.memoryView(umem.address, umem.length));
    return {
      fd,
      bind(ifindex, queue) {
        const address = new Uint8Array(16);
        const view = new DataView(address.buffer);
        view.setUint16(0, AF_XDP, true);
        view.setUint32(4, ifindex, true);
        view.setUint32(8, queue, true);
        sys.bind(fd, address);
      },
      receive() {
        const frames: Uint8Array[] = [];
        const producer = Atomics.load(rx.words, rxOff.producer / 4);
        let consumer = Atomics.load(rx.words, rxOff.consumer / 4);
        while (consumer !== producer) {
          const at = rxOff.desc + (consumer % RING_SIZE) * XDP_DESC_SIZE;
          const addr = Number(rx.view.getBigUint64(at, true));
          const length = rx.view.getUint32(at + 8, true);
          frames.push(umemBytes.slice(addr, addr + length));
          consumer = (consumer + 1) >>> 0;
        }
        Atomics.store(rx.words, rxOff.consumer / 4, consumer);
        return frames;
      },
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}
