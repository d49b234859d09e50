import { afterAll, beforeAll, expect, it } from 'vitest';
import type { XdpAttachment } from '../../../src/hooks/xdp/xdp-attachment.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { XskServer } from '../../../src/xsk/xsk-server.js';
import { XskSocketGroup } from '../../../src/xsk/xsk-socket-group.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, xdpAttachment, type VethPair } from '../../support/veth-pair.js';
import {
  compileFor,
  connectUdp,
  incomingCpu,
  payloadOf,
  receiveWaiting,
  seqOfFrame,
  sockaddrIn,
  udpSocketIn,
  waitUntil,
  xdpBackend,
} from './xdp-test-support.js';

const XSK_PORT = 41_400;
const CPU_PORT = 41_401;
const SRC_PORT = 42_400;

describeKernel('the XDP dispatcher', { needs: ['bpf', 'netns', 'xdp-skb', 'xdp-driver', 'af-xdp'] }, () => {
  const sys = nativeSyscalls();
  let pair: VethPair | undefined;
  beforeAll(() => {
    pair = createVethPair();
  });
  afterAll(() => pair?.remove());

  it('serves an AF_XDP policy and a cpu-redirect policy on two ports of one interface through one root program, and detaches with the last', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ipA, ipB } = pair;
    const backend = xdpBackend();
    const xskTarget = { interface: ifA, port: XSK_PORT, extra: { netns: nsA, xskCount: 2 } };
    const cpuTarget = { interface: ifA, port: CPU_PORT, extra: { netns: nsA, cpus: [0, 1] } };
    const xsk = (await backend.attach({ artifact: await compileFor(backend, 'xdp-skb', 'by-first-word.ts', xskTarget), target: xskTarget })) as XdpAttachment;
    let cpu: XdpAttachment | undefined;
    using sender = udpSocketIn(sys, nsB, ipB, SRC_PORT);
    using receiver = udpSocketIn(sys, nsA, ipA, CPU_PORT);
    connectUdp(receiver, ipB, SRC_PORT);
    const landed = new Map<number, number>();
    const server = new XskServer(xsk.sockets, (frame, socket) => {
      landed.set(seqOfFrame(frame), socket);
      return undefined;
    }).start();
    const viaCpu = async (seq: number, choice: number): Promise<number> => {
      sys.sendto(sender, payloadOf(seq, [choice]), 0, sockaddrIn(ipA, CPU_PORT));
      expect(await waitUntil(() => receiveWaiting(receiver).length > 0)).toBe(true);
      return incomingCpu(sys, receiver);
    };
    try {
      // The cpu-redirect policy joins the running dispatcher in its mode.
      cpu = (await backend.attach({ artifact: await compileFor(backend, 'cpu-redirect', 'by-first-word.ts', cpuTarget), target: cpuTarget })) as XdpAttachment;
      expect(cpu.mode).toBe('skb');
      const dispatcher = backend.dispatchers.running(xsk.ifindex, nsA);
      expect(dispatcher).toBeDefined();
      expect(cpu.route.dispatcher).toBe(dispatcher);
      expect(new Map(dispatcher?.ports)).toEqual(new Map([[XSK_PORT, xsk.route.slot], [CPU_PORT, cpu.route.slot]]));
      expect(xdpAttachment(nsA, ifA)?.progIds).toEqual([dispatcher?.program.info().id]);

      for (const [seq, socket] of [[0, 1], [1, 0], [2, 1]] as const) sys.sendto(sender, payloadOf(seq, [socket]), 0, sockaddrIn(ipA, XSK_PORT));
      expect(await waitUntil(() => landed.size === 3)).toBe(true);
      expect(Object.fromEntries(landed)).toEqual({ 0: 1, 1: 0, 2: 1 });
      expect([await viaCpu(10, 1), await viaCpu(11, 0)]).toEqual([1, 0]);

      await xsk.close();
      expect(xdpAttachment(nsA, ifA)?.progIds).toEqual([dispatcher?.program.info().id]);
      expect([...(dispatcher?.ports.keys() ?? [])]).toEqual([CPU_PORT]);
      expect([await viaCpu(12, 0), await viaCpu(13, 1)]).toEqual([0, 1]);
    } finally {
      server.close();
      await xsk.close();
      await cpu?.close();
    }
    expect(xdpAttachment(nsA, ifA)).toBeUndefined();
    expect(backend.dispatchers.running(xsk.ifindex, nsA)).toBeUndefined();
  }, 60_000);

  it('uses the application\'s own sockets as executors and leaves them open; a replace keeps the policy\'s maps', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, nsB, ifA, ipA, ipB } = pair;
    const group = await XskSocketGroup.open({ ifname: ifA, netns: nsA, count: 2 });
    const landed: number[] = [];
    const server = new XskServer(group.sockets, (_frame, socket) => {
      landed.push(socket);
      return undefined;
    }).start();
    using sender = udpSocketIn(sys, nsB, ipB, SRC_PORT);
    const backend = xdpBackend();
    const target = { interface: ifA, port: XSK_PORT, extra: { netns: nsA, xskSockets: group } };
    try {
      const artifact = await compileFor(backend, 'xdp-drv', 'std:round-robin', target, { SOCKETS: 2 });
      const attachment = (await backend.attach({ artifact, target })) as XdpAttachment;
      expect(attachment.sockets).toEqual(group.sockets);
      expect(attachment.xskGroup).toBeUndefined();
      const send = async (seq: number): Promise<void> => {
        sys.sendto(sender, payloadOf(seq), 0, sockaddrIn(ipA, XSK_PORT));
        expect(await waitUntil(() => landed.length === seq + 1)).toBe(true);
      };
      for (let seq = 0; seq < 5; seq++) await send(seq);
      expect(attachment.maps.get('next')?.lookup(0)).toEqual([5n]);
      const next = attachment.maps.get('next');
      await attachment.replace(await compileFor(backend, 'xdp-drv', 'std:round-robin', target, { SOCKETS: 2 }));
      // Same map name and shape: the counter carried over, so round robin goes on where it was.
      expect(attachment.maps.get('next')).toBe(next);
      for (let seq = 5; seq < 8; seq++) await send(seq);
      expect(landed).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
      await attachment.close();
      expect(group.closed).toBe(false);
      expect(group.sockets.every((s) => !s.closed)).toBe(true);
    } finally {
      server.close();
      group.close();
    }
  }, 60_000);
});
