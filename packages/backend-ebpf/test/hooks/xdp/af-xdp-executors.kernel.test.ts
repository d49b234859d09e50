import { afterAll, beforeAll, expect, it } from 'vitest';
import type { XdpAttachment } from '../../../src/hooks/xdp/xdp-attachment.js';
import { interfaceIndex } from '../../../src/links/interface-index.js';
import { inNetworkNamespace } from '../../../src/links/network-namespace.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { echoUdpFrame } from '../../../src/xsk/echo-udp-frame.js';
import { XskServer } from '../../../src/xsk/xsk-server.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, sendUdp, xdpAttachment, type VethPair } from '../../support/veth-pair.js';
import {
  captureFrames,
  checksumsValid,
  compileFor,
  executorOf,
  expectedDecisions,
  payloadOf,
  receiveWaiting,
  runUdpClient,
  seqOfFrame,
  udpFramesFrom,
  udpSocketIn,
  waitUntil,
  xdpBackend,
} from './xdp-test-support.js';

const PORT = 41_700;
const OTHER_PORT = 41_701;
const SRC_PORT = 42_700;
const DATAGRAMS = 240;

const CASES = [
  { policy: 'std:round-robin', sockets: 2, kinds: [0] },
  { policy: 'std:round-robin', sockets: 3, kinds: [0] },
  // SITA: kind 1 is a SCAN (socket 0 to itself), everything else round robin over 1..3.
  { policy: 'std:sita', sockets: 4, kinds: [0, 2, 1, 0, 0, 1, 0] },
] as const;

describeKernel('XDP hooks with AF_XDP executors sharing one UMEM', { needs: ['bpf', 'netns', 'xdp-skb', 'xdp-driver', 'af-xdp'] }, () => {
  const sys = nativeSyscalls();
  let pair: VethPair | undefined;
  let ifindexB = 0;
  beforeAll(() => {
    pair = createVethPair();
    const { nsB, ifB } = pair;
    ifindexB = inNetworkNamespace(nsB, () => interfaceIndex(ifB, { sys }), { sys });
  });
  afterAll(() => pair?.remove());

  for (const hook of ['xdp-skb', 'xdp-drv'] as const) {
    for (const { policy, sockets, kinds } of CASES) {
      it(`${hook}: ${policy} over ${sockets} sockets on queue 0 receives what the evaluator assigns, and the AF_XDP echo server answers every datagram with valid checksums`, async () => {
        if (pair === undefined) throw new Error('no veth pair');
        const { nsA, nsB, ifA, ipA, ipB } = pair;
        const backend = xdpBackend();
        const target = { interface: ifA, port: PORT, queue: 0, extra: { netns: nsA, xskCount: sockets } };
        const params = { SOCKETS: sockets };
        const artifact = await compileFor(backend, hook, policy, target, params);
        const attachment = (await backend.attach({ artifact, target })) as XdpAttachment;
        const capture = captureFrames(sys, nsB, ifindexB);
        const landed = new Map<number, number>();
        const server = new XskServer(attachment.sockets, (frame, socket) => {
          landed.set(seqOfFrame(frame), socket);
          return echoUdpFrame(frame);
        }).start();
        try {
          expect(attachment.mode).toBe(hook === 'xdp-skb' ? 'skb' : 'drv');
          expect(attachment.sockets).toHaveLength(sockets);
          expect(new Set(attachment.sockets.map((s) => s.umem)).size).toBe(1);
          expect(attachment.sockets.map((s) => s.shared)).toEqual([false, ...Array<boolean>(sockets - 1).fill(true)]);
          expect(xdpAttachment(nsA, ifA)?.mode).toBe(hook === 'xdp-skb' ? 'skb' : 'drv');

          const report = await runUdpClient(nsB, { host: ipA, port: PORT, count: DATAGRAMS, intervalMs: 1, srcPorts: [SRC_PORT], kinds, expectReplies: true });
          expect(report).toEqual({ sent: DATAGRAMS, replies: DATAGRAMS, duplicates: 0, bad: [], missing: [] });

          const expected = expectedDecisions(
            policy,
            params,
            Array.from({ length: DATAGRAMS }, (_, seq) => ({ payload: payloadOf(seq, kinds), srcAddr: ipB, dstAddr: ipA, srcPort: SRC_PORT, dstPort: PORT })),
          ).map(executorOf);
          expect(expected.every((k) => k >= 0 && k < sockets)).toBe(true);
          expect(Array.from({ length: DATAGRAMS }, (_, seq) => landed.get(seq))).toEqual(expected);
          const counts = attachment.sockets.map((_, k) => expected.filter((e) => e === k).length);
          expect(server.counters.map((c) => c.received)).toEqual(counts);
          expect(server.counters.map((c) => c.transmitted)).toEqual(counts);

          const replies = udpFramesFrom(receiveWaiting(capture), PORT);
          expect(replies).toHaveLength(DATAGRAMS);
          expect(replies.every((frame) => { const v = checksumsValid(frame); return v.ip && v.udp; })).toBe(true);
          for (const socket of attachment.sockets) expect(socket.statistics().rxDropped).toBe(0n);
        } finally {
          server.close();
          capture.close();
          await attachment.close();
        }
        expect(xdpAttachment(nsA, ifA)).toBeUndefined();
      }, 60_000);
    }
  }

  it('routes only its own port: other UDP ports reach the namespace\'s ordinary sockets untouched', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ipA } = pair;
    const backend = xdpBackend();
    const target = { interface: ifA, port: PORT, extra: { netns: nsA, xskCount: 2 } };
    const attachment = (await backend.attach({ artifact: await compileFor(backend, 'xdp-skb', 'std:round-robin', target, { SOCKETS: 2 }), target })) as XdpAttachment;
    using plain = udpSocketIn(sys, nsA, ipA, OTHER_PORT);
    let received = 0;
    const server = new XskServer(attachment.sockets, () => {
      received++;
      return undefined;
    }).start();
    try {
      sendUdp(nsB, ipA, OTHER_PORT, 5, (i) => [0xab, i]);
      sendUdp(nsB, ipA, PORT, 3, (i) => [0xcd, i]);
      expect(await waitUntil(() => received === 3)).toBe(true);
      expect(receiveWaiting(plain).map((d) => [...d])).toEqual([0, 1, 2, 3, 4].map((i) => [0xab, i]));
    } finally {
      server.close();
      await attachment.close();
    }
  }, 60_000);
});
