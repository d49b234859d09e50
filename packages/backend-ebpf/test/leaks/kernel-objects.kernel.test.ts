import { afterAll, beforeAll, expect, it } from 'vitest';
import { exit, R0, Mov } from '../../src/asm/index.js';
import { attachXdp } from '../../src/links/xdp-link.js';
import { ReuseportAttachment } from '../../src/links/reuseport-attachment.js';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { CpuMap } from '../../src/maps/system/cpu-map.js';
import { ProgArray } from '../../src/maps/system/prog-array.js';
import { ReadinessPoller } from '../../src/readiness/readiness-poller.js';
import { ReuseportSockArray } from '../../src/maps/system/reuseport-sock-array.js';
import { RingBuffer } from '../../src/maps/system/ring-buffer.js';
import { XskMap } from '../../src/maps/system/xsk-map.js';
import { Program } from '../../src/programs/program.js';
import { ProgType } from '../../src/syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';

import { loadReuseport, selectByFirstByte } from '../support/reuseport-programs.js';
import { reuseportUdpSocket } from '../support/sockets.js';
import { createVethPair, type VethPair } from '../support/veth-pair.js';
import { countingUdp, frame, loadXdp, returning, XDP_PASS } from '../support/xdp-programs.js';
import { openFdCount } from '@syrup/test-support/open-fds';

function swallow(action: () => unknown): void {
  try {
    action();
  } catch {
    // Failures are the point here; only the fd count matters.
  }
}

/** Runs `cycle` `times` after one warm-up (lazy buffers, libc prototypes) and expects the fd table unchanged. */
function expectNoFdLeak(times: number, cycle: (i: number) => void): void {
  cycle(-1);
  const before = openFdCount();
  for (let i = 0; i < times; i++) cycle(i);
  expect(openFdCount()).toBe(before);
}

describeKernel('no fd leaks across thousands of kernel-object cycles', { needs: ['bpf', 'netns', 'xdp-skb', 'xdp-driver', 'af-xdp'] }, () => {
  const sys = nativeSyscalls();
  let pair: VethPair | undefined;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.remove());

  it('program loads, failed loads (EINVAL) and verifier rejections', () => {
    expectNoFdLeak(2000, (i) => {
      if (i % 4 === 0) loadXdp('ok', returning(XDP_PASS)).close();
      else if (i % 4 === 1) swallow(() => Program.load({ name: 'badtype', type: 9999, license: 'GPL', instructions: returning(0) }));
      else if (i % 4 === 2) swallow(() => loadXdp('rejected', [exit()]));
      else swallow(() => Program.load({ name: 'badbtf', type: ProgType.XDP, license: 'GPL', instructions: returning(2), btf: { blob: new Uint8Array(24) } }));
    });
  }, 120_000);

  it('test runs, including failing ones', () => {
    using program = loadXdp('pass', returning(XDP_PASS));
    const runner = program.testRunner();
    expectNoFdLeak(5000, (i) => {
      if (i % 10 === 9) swallow(() => program.testRun(new Uint8Array(4)));
      else if (i % 2 === 0) runner.run(frame([i & 0xff]));
      // Repeated runs swap the XDP dispatcher, which takes milliseconds: only a few.
      else program.testRun(frame([1]), { repeat: i % 500 === 1 ? 2 : 1 });
    });
  }, 120_000);

  it('XDP link create, update, detach and close, and failed attaches', () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA } = pair;
    using counters = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 2 }, { name: 'leak' });
    using first = loadXdp('first', countingUdp(9, 0, XDP_PASS), { counters: counters.kernelMap });
    using second = loadXdp('second', returning(XDP_PASS));
    // Each attach and detach synchronizes with the network stack (milliseconds), hence fewer cycles.
    expectNoFdLeak(300, (i) => {
      if (i % 3 === 0) {
        swallow(() => attachXdp({ program: first, ifindex: 999_999, mode: 'skb' }));
        swallow(() => attachXdp({ program: first, ifname: 'nosuchif0', mode: 'drv', netns: nsA }));
        swallow(() => attachXdp({ program: first, ifname: ifA, mode: 'skb', netns: 'syrup-no-such-ns' }));
        return;
      }
      const link = attachXdp({ program: first, ifname: ifA, mode: i % 2 === 0 ? 'skb' : 'drv', netns: nsA });
      link.update(second, { expected: first });
      swallow(() => link.update(second, { expected: first }));
      if (i % 2 === 0) link.detach();
      link.close();
    });
  }, 120_000);

  it('system maps and reuseport attachments', () => {
    using program = loadReuseport('select', [Mov.imm(R0, 1), exit()]);
    using xdp = loadXdp('pass', returning(XDP_PASS));
    expectNoFdLeak(1000, (i) => {
      using sockets = ReuseportSockArray.create({ maxEntries: 2 });
      using socket = reuseportUdpSocket(sys, 0);
      sockets.set(0, socket);
      const attachment = ReuseportAttachment.attach(socket, program);
      attachment.detach();
      using select = loadReuseport('by_byte', selectByFirstByte(), { sockets });
      void select;
      using programs = ProgArray.create({ maxEntries: 2 });
      programs.set(0, xdp);
      swallow(() => programs.set(5, xdp));
      using cpus = CpuMap.create({ maxEntries: 1 });
      cpus.set(0, { queueSize: 64 });
      using xsks = XskMap.create({ maxEntries: 1 });
      swallow(() => xsks.set(0, socket));
      if (i % 10 === 0) RingBuffer.create({ size: 4096 }).close();
    });
  }, 120_000);

  it('ring buffers with waiting threads that start and stop', async () => {
    const poller = ReadinessPoller.of(sys);
    const cycle = async (): Promise<void> => {
      const ring = RingBuffer.create({ size: 4096 });
      const subscription = ring.subscribe(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 1));
      subscription.close();
      ring.close();
      expect(poller.active).toBe(false);
      // The waiting thread's epoll set, eventfd and its own event loop's fds close once it has exited.
      await poller.stopped();
    };
    await cycle();
    const before = openFdCount();
    for (let i = 0; i < 50; i++) await cycle();
    expect(openFdCount()).toBe(before);
  }, 120_000);
});
