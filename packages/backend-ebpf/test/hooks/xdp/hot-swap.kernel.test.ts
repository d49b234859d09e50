import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { XdpAttachment } from '../../../src/hooks/xdp/xdp-attachment.js';
import { ReadinessPoller } from '../../../src/readiness/readiness-poller.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { XskServer } from '../../../src/xsk/xsk-server.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, type VethPair } from '../../support/veth-pair.js';
import { compileFor, runUdpClient, seqOfFrame, waitUntil, xdpBackend } from './xdp-test-support.js';
import { openFdCount } from '@syrup/test-support/open-fds';

const PORT = 41_900;
const DATAGRAMS = 6000;
const SWAPS = 100;

describeKernel('hot swap at the XDP hooks', { needs: ['bpf', 'netns', 'xdp-skb', 'xdp-driver', 'af-xdp'] }, () => {
  let pair: VethPair | undefined;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.remove());

  for (const hook of ['xdp-skb', 'xdp-drv'] as const) {
    it(`${hook}: ${SWAPS} swaps between policies with disjoint assignments under a paced stream lose no frame, and every frame lands where one of them puts it`, async () => {
      if (pair === undefined) throw new Error('no veth pair');
      const { nsA, nsB, ifA, ipA } = pair;
      const fdsBefore = openFdCount();
      const backend = xdpBackend();
      const target = { interface: ifA, port: PORT, extra: { netns: nsA, xskCount: 4 } };
      const low = await compileFor(backend, hook, 'even-odd-low.ts', target);
      const high = await compileFor(backend, hook, 'even-odd-high.ts', target);
      const attachment = (await backend.attach({ artifact: low, target })) as XdpAttachment;
      const landed = new Map<number, number[]>();
      const server = new XskServer(attachment.sockets, (frame, socket) => {
        const seq = seqOfFrame(frame);
        landed.set(seq, [...(landed.get(seq) ?? []), socket]);
        return undefined;
      }).start();
      try {
        const client = runUdpClient(nsB, { host: ipA, port: PORT, count: DATAGRAMS, intervalMs: 1, burst: 3 });
        expect(await waitUntil(() => landed.size > 100, 10_000)).toBe(true);
        for (let swap = 0; swap < SWAPS; swap++) {
          await attachment.replace(swap % 2 === 0 ? high : low);
          await sleep(5);
        }
        const receivedAtLastSwap = landed.size;
        const report = await client;
        expect(report.sent).toBe(DATAGRAMS);
        expect(await waitUntil(() => landed.size === DATAGRAMS, 5000)).toBe(true);
        // The swaps happened while frames were flowing, not after the stream ended.
        expect(receivedAtLastSwap).toBeLessThan(DATAGRAMS);

        const byPolicy = { low: 0, high: 0 };
        let changes = 0;
        let previous: 'low' | 'high' | undefined;
        for (let seq = 0; seq < DATAGRAMS; seq++) {
          const sockets = landed.get(seq);
          expect(sockets, `datagram ${seq}`).toHaveLength(1);
          const socket = sockets?.[0] as number;
          const policy = socket === seq % 2 ? 'low' : socket === 2 + (seq % 2) ? 'high' : undefined;
          expect(policy, `datagram ${seq} landed on socket ${socket}`).toBeDefined();
          byPolicy[policy as 'low' | 'high']++;
          if (previous !== undefined && policy !== previous) changes++;
          previous = policy;
        }
        expect(byPolicy.low).toBeGreaterThan(0);
        expect(byPolicy.high).toBeGreaterThan(0);
        // Most swaps fall between two datagrams of the stream (a few may land in the same gap).
        expect(changes).toBeGreaterThan(SWAPS / 2);
        for (const socket of attachment.sockets) {
          const stats = socket.statistics();
          expect([stats.rxDropped, stats.rxRingFull]).toEqual([0n, 0n]);
        }
      } finally {
        server.close();
        await attachment.close();
        // Its code generation workers hold fds of their own (their event loops').
        await backend.close();
      }
      // Every replaced program and map was closed along the way (the poller's epoll set goes once its thread exits).
      await ReadinessPoller.of(nativeSyscalls()).stopped();
      expect(openFdCount()).toBe(fdsBefore);
    }, 120_000);
  }
});
