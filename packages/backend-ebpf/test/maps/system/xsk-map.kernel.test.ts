import { afterAll, beforeAll, expect, it } from 'vitest';
import { Add, call, exit, JGT, JNE, label, loadMapPtr, loadMem, Mov, R0, R1, R2, R3, R4, R5, toBigEndian } from '../../../src/asm/index.js';
import { isSyscallError } from '../../../src/errors/syscall-error.js';
import { attachXdp } from '../../../src/links/xdp-link.js';
import { KernelMap } from '../../../src/maps/kernel-map.js';
import type { SystemMapError } from '../../../src/maps/system/system-map-error.js';
import { XskMap } from '../../../src/maps/system/xsk-map.js';
import { MapType } from '../../../src/syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { XskSocketGroup } from '../../../src/xsk/xsk-socket-group.js';
import { XskUmem } from '../../../src/xsk/xsk-umem.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { reuseportUdpSocket } from '../../support/sockets.js';
import { createVethPair, sendUdp, type VethPair } from '../../support/veth-pair.js';
import { loadXdp, UDP_DST_PORT_OFFSET, UDP_PAYLOAD_OFFSET, XDP_PASS } from '../../support/xdp-programs.js';
import { caught } from '../../support/caught.js';

const PORT = 40_456;

/** UDP to PORT goes to xsks[rx_queue_index] (XDP_PASS when the queue has no socket); the rest passes. */
function redirectUdpToXsk(): Parameters<typeof loadXdp>[1] {
  return [
    loadMem(R4, R1, 16, 'W'),
    loadMem(R2, R1, 0, 'W'),
    loadMem(R3, R1, 4, 'W'),
    Mov.reg(R5, R2),
    Add.imm(R5, UDP_PAYLOAD_OFFSET),
    JGT.reg(R5, R3, 'pass'),
    loadMem(R5, R2, 23, 'B'),
    JNE.imm(R5, 17, 'pass'),
    loadMem(R5, R2, UDP_DST_PORT_OFFSET, 'H'),
    toBigEndian(R5, 16),
    JNE.imm(R5, PORT, 'pass'),
    loadMapPtr(R1, 'xsks'),
    Mov.reg(R2, R4),
    Mov.imm(R3, XDP_PASS),
    call('redirect_map'),
    exit(),
    label('pass'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

async function eventually<T>(read: () => T, done: (value: T) => boolean, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeKernel('XSK maps', { needs: ['bpf', 'netns', 'xdp-skb', 'af-xdp'] }, () => {
  const sys = nativeSyscalls();
  let pair: VethPair | undefined;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.remove());

  it('has no get: the kernel offers no lookup for XSK maps', () => {
    using map = XskMap.create({ maxEntries: 4 });
    expect('get' in map).toBe(false);
    const raw = caught(() => map.kernelMap.lookup(new Uint8Array(4)));
    expect(isSyscallError(raw, 'EOPNOTSUPP') || isSyscallError(raw, 'ENOTSUPP')).toBe(true);
  });

  it('refuses other sockets with EOPNOTSUPP and fds that are not sockets with ENOTSOCK, and takes any AF_XDP socket', () => {
    using map = XskMap.create({ maxEntries: 4 });
    using udp = reuseportUdpSocket(sys, 0);
    const notXdp = caught(() => map.set(0, udp)) as SystemMapError;
    expect(notXdp.code).toBe('SYSTEM_MAP_UPDATE_FAILED');
    expect(isSyscallError(notXdp.cause, 'EOPNOTSUPP')).toBe(true);
    expect(notXdp.message).toMatch(/not an AF_XDP socket/);
    {
      // The kernel takes an AF_XDP socket before it is bound (a frame reaches it only once bound).
      using umem = XskUmem.create({ frameCount: 64 });
      map.set(0, umem.fd);
      map.set(3, umem.fd);
      map.delete(0);
    }
    using other = KernelMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 4, maxEntries: 1 });
    expect(isSyscallError((caught(() => map.set(0, other.fd)) as SystemMapError).cause, 'ENOTSOCK')).toBe(true);
  });

  it('delivers frames to a bound AF_XDP socket through redirect_map, until the entry is deleted', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ipA, ifindexA } = pair;
    using map = XskMap.create({ maxEntries: 4, name: 'xsks' });
    const group = await XskSocketGroup.open({ ifindex: ifindexA, queue: 0, netns: nsA, count: 1, frameCount: 256 });
    const xsk = group.sockets[0]!;
    const receive = (): Uint8Array[] =>
      xsk.receive().map((frame) => {
        const bytes = frame.data.slice();
        xsk.umem.releaseFrame(frame.address);
        return bytes;
      });
    try {
      map.set(0, xsk.fd);
      using program = loadXdp('to_xsk', redirectUdpToXsk(), { xsks: map });
      using link = attachXdp({ program, ifname: ifA, mode: 'skb', netns: nsA });
      sendUdp(nsB, ipA, PORT, 3, (i) => [0x5a, i]);
      const frames = await eventually(() => receive(), (f) => f.length >= 3);
      expect(frames).toHaveLength(3);
      expect(frames.map((f) => [...f.subarray(UDP_PAYLOAD_OFFSET)])).toEqual([
        [0x5a, 0],
        [0x5a, 1],
        [0x5a, 2],
      ]);
      map.delete(0);
      sendUdp(nsB, ipA, PORT, 2);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(receive()).toHaveLength(0);
      link.close();
    } finally {
      group.close();
    }
  }, 60_000);
});
