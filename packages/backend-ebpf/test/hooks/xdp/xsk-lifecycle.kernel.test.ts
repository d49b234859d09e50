import { afterAll, beforeAll, expect, it } from 'vitest';
import type { XdpAttachment } from '../../../src/hooks/xdp/xdp-attachment.js';
import { XskError } from '../../../src/xsk/xsk-error.js';
import { XskSocket } from '../../../src/xsk/xsk-socket.js';
import { XskSocketGroup } from '../../../src/xsk/xsk-socket-group.js';
import { XskUmem } from '../../../src/xsk/xsk-umem.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, xdpAttachment, type VethPair } from '../../support/veth-pair.js';
import { compileFor, xdpBackend } from './xdp-test-support.js';
import { caught } from '../../support/caught.js';
import { openFdCount } from '@syrup/test-support/open-fds';

describeKernel('AF_XDP sockets and their UMEM over their lifetime', { needs: ['bpf', 'netns', 'xdp-skb', 'xdp-driver', 'af-xdp'] }, () => {
  let pair: VethPair | undefined;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.remove());

  it('reopens a queue right after closing it (waiting out the kernel\'s deferred UMEM teardown) and leaks no fd', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA } = pair;
    const before = openFdCount();
    for (let cycle = 0; cycle < 20; cycle++) {
      const group = await XskSocketGroup.open({ ifname: ifA, netns: nsA, count: 3, frameCount: 512 });
      expect(group.sockets.map((s) => s.shared)).toEqual([false, true, true]);
      group.close();
      group.close();
      expect(group.sockets.every((s) => s.closed) && group.umem.closed).toBe(true);
    }
    expect(openFdCount()).toBe(before);
  }, 60_000);

  it('deploys and undeploys an AF_XDP policy repeatedly with nothing left behind', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA } = pair;
    const backend = xdpBackend();
    const target = { interface: ifA, port: 41_300, extra: { netns: nsA, xskCount: 2 } };
    const artifact = await compileFor(backend, 'xdp-drv', 'std:round-robin', target, { SOCKETS: 2 });
    const before = openFdCount();
    for (let cycle = 0; cycle < 10; cycle++) {
      const attachment = (await backend.attach({ artifact, target })) as XdpAttachment;
      await attachment.close();
      expect(xdpAttachment(nsA, ifA)).toBeUndefined();
    }
    expect(openFdCount()).toBe(before);
  }, 60_000);

  it('shares a UMEM only on the queue it serves, and checks its options before touching the kernel', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA } = pair;
    const before = openFdCount();
    const group = await XskSocketGroup.open({ ifname: ifA, netns: nsA, count: 1, frameCount: 256 });
    try {
      const other = caught(() => XskSocket.bind(group.umem, { ifname: ifA, queue: 1 })) as XskError;
      expect(other.code).toBe('XSK_SHARE_REFUSED');
      expect(other.message).toMatch(/serves ifindex \d+ queue 0/);
      const noRings = caught(() => XskSocket.bind(group.umem, { ifname: ifA, rxRingSize: 0, txRingSize: 0 })) as XskError;
      expect(noRings.code).toBe('XSK_INVALID_OPTION');
    } finally {
      group.close();
    }
    expect((caught(() => XskUmem.create({ frameSize: 1000 as 2048 })) as XskError).code).toBe('XSK_INVALID_OPTION');
    expect((caught(() => XskUmem.create({ fillRingSize: 1000 })) as XskError).message).toMatch(/power of two/);
    expect(openFdCount()).toBe(before);
  }, 60_000);

  it('transmits frames it builds itself and gets every frame back through the COMPLETION ring', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA } = pair;
    const group = await XskSocketGroup.open({ ifname: ifA, netns: nsA, count: 2, frameCount: 256 });
    try {
      const { umem } = group;
      const free = umem.freeFrames;
      for (const socket of group.sockets) {
        for (let i = 0; i < 40; i++) {
          const address = umem.allocFrame();
          expect(address).toBeDefined();
          const frame = umem.frame(address as number, 60);
          frame.fill(0xff, 0, 6); // broadcast, so the peer takes it in and drops it
          frame[12] = 0x88;
          frame[13] = 0xb5;
          expect(socket.transmit(address as number, 60)).toBe(true);
        }
        expect(socket.kick()).toBe(0);
      }
      const deadline = Date.now() + 2000;
      while (umem.freeFrames < free && Date.now() < deadline) {
        umem.reapCompletions();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(umem.freeFrames).toBe(free);
      expect(group.sockets.map((s) => s.statistics().txInvalidDescriptors)).toEqual([0n, 0n]);
    } finally {
      group.close();
    }
  }, 60_000);
});
