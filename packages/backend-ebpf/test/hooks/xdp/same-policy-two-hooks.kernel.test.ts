import { compilePolicy } from '@syrup/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateProgram } from '../../../src/codegen/generate-program.js';
import { SYSTEM_MAP_NAMES } from '../../../src/codegen/epilogues.js';
import type { Fd } from '../../../src/fd.js';
import type { XdpAttachment } from '../../../src/hooks/xdp/xdp-attachment.js';
import { ReuseportAttachment } from '../../../src/links/reuseport-attachment.js';
import { loadProgramSpec } from '../../../src/loader/loaded-program.js';
import { ReuseportSockArray } from '../../../src/maps/system/reuseport-sock-array.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { XskServer } from '../../../src/xsk/xsk-server.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, type VethPair } from '../../support/veth-pair.js';
import {
  compileFor,
  executorOf,
  expectedDecisions,
  payloadOf,
  policySource,
  receiveWaiting,
  seqOfFrame,
  sockaddrIn,
  udpSocketIn,
  waitUntil,
  xdpBackend,
} from './xdp-test-support.js';

const POLICY = 'mixed.ts';
const SOCKETS = 4;
const PORT = 41_600;
const SRC_PORTS = [43_001, 43_002, 43_003, 43_004, 43_005];
/** 0: flow hash, 1: round robin counter, 2: payload, source port and length. */
const KINDS = [0, 1, 2, 0, 2, 1, 1, 0, 2];
const DATAGRAMS = 180;

/*
 * The same policy file deployed at socket-select (an SK_REUSEPORT program over a
 * SO_REUSEPORT group of UDP sockets in namespace A) and at the XDP hooks (AF_XDP sockets on
 * A's veth), fed the same datagrams from the same addresses and ports in namespace B, must
 * pick the same executor for every datagram, which is also what core's evaluator picks.
 * Datagrams go one at a time (each is sent once the previous one has landed), so the order
 * the round-robin counter sees is the send order at both hooks.
 *
 * socket-select is attached through the lower-level API (generateProgram, loadProgramSpec, a
 * socket array and ReuseportAttachment), because the sockets live in namespace A.
 */
describeKernel('one policy file at socket-select and at the XDP hooks', { needs: ['bpf', 'netns', 'xdp-skb', 'xdp-driver', 'af-xdp'] }, () => {
  const sys = nativeSyscalls();
  let pair: VethPair | undefined;
  let senders: Fd[] = [];
  beforeAll(() => {
    pair = createVethPair();
    const { nsB, ipB } = pair;
    senders = SRC_PORTS.map((port) => udpSocketIn(sys, nsB, ipB, port));
  });
  afterAll(() => {
    for (const sender of senders) sender.close();
    pair?.remove();
  });

  function send(seq: number): void {
    if (pair === undefined) throw new Error('no veth pair');
    const sender = senders[seq % senders.length] as Fd;
    sys.sendto(sender, payloadOf(seq, KINDS), 0, sockaddrIn(pair.ipA, PORT));
  }

  async function atSocketSelect(): Promise<number[]> {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ipA } = pair;
    const source = policySource(POLICY);
    const { ir } = compilePolicy(source, { params: { SOCKETS } });
    const group: Fd[] = [];
    try {
      for (let k = 0; k < SOCKETS; k++) group.push(udpSocketIn(sys, nsA, ipA, PORT, true));
      using sockets = ReuseportSockArray.create({ maxEntries: SOCKETS, name: 'sockets' });
      using loaded = loadProgramSpec(generateProgram(ir, { target: 'socket-select', sourceText: source.text }), {
        systemMaps: new Map([[SYSTEM_MAP_NAMES.executors, sockets.kernelMap]]),
      });
      group.forEach((socket, k) => sockets.set(k, socket));
      const attached = ReuseportAttachment.attach(group[0] as Fd, loaded.program);
      const landed: number[] = [];
      try {
        for (let seq = 0; seq < DATAGRAMS; seq++) {
          send(seq);
          let at: number[] = [];
          const arrived = await waitUntil(() => {
            at = group.flatMap((socket, k) => receiveWaiting(socket).map((d) => (new DataView(d.buffer).getUint32(8) === seq ? k : -2)));
            return at.length > 0;
          });
          expect(arrived, `datagram ${seq} reached no socket`).toBe(true);
          expect(at, `datagram ${seq}`).toHaveLength(1);
          landed.push(at[0] as number);
        }
      } finally {
        attached.detach();
      }
      return landed;
    } finally {
      for (const socket of group) socket.close();
    }
  }

  async function atXdp(hook: 'xdp-skb' | 'xdp-drv'): Promise<number[]> {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA } = pair;
    const backend = xdpBackend();
    const target = { interface: ifA, port: PORT, extra: { netns: nsA, xskCount: SOCKETS } };
    const attachment = (await backend.attach({ artifact: await compileFor(backend, hook, POLICY, target, { SOCKETS }), target })) as XdpAttachment;
    const landedBySeq = new Map<number, number>();
    const server = new XskServer(attachment.sockets, (frame, socket) => {
      landedBySeq.set(seqOfFrame(frame), socket);
      return undefined;
    }).start();
    try {
      for (let seq = 0; seq < DATAGRAMS; seq++) {
        send(seq);
        expect(await waitUntil(() => landedBySeq.has(seq)), `datagram ${seq} reached no AF_XDP socket`).toBe(true);
      }
      expect(landedBySeq.size).toBe(DATAGRAMS);
      return Array.from({ length: DATAGRAMS }, (_, seq) => landedBySeq.get(seq) as number);
    } finally {
      server.close();
      await attachment.close();
    }
  }

  it('gives every datagram the same executor at socket-select, xdp-skb and xdp-drv as the evaluator', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { ipA, ipB } = pair;
    const expected = expectedDecisions(
      POLICY,
      { SOCKETS },
      Array.from({ length: DATAGRAMS }, (_, seq) => ({
        payload: payloadOf(seq, KINDS),
        srcAddr: ipB,
        dstAddr: ipA,
        srcPort: SRC_PORTS[seq % SRC_PORTS.length] as number,
        dstPort: PORT,
      })),
    ).map(executorOf);
    // The traffic exercises every executor and every branch of the policy.
    expect(new Set(expected)).toEqual(new Set([0, 1, 2, 3]));

    const socketSelect = await atSocketSelect();
    expect(socketSelect).toEqual(expected);
    expect(await atXdp('xdp-skb')).toEqual(socketSelect);
    expect(await atXdp('xdp-drv')).toEqual(socketSelect);
  }, 120_000);
});
