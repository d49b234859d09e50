import { afterAll, beforeAll, expect, it } from 'vitest';
import { Add, call, exit, JEq, JGT, JNE, label, loadMapPtr, loadMem, Mov, R0, R1, R2, R3, R4, R5, R10, storeMem, toBigEndian } from '../../../src/asm/index.js';
import type { XdpAttachment } from '../../../src/hooks/xdp/xdp-attachment.js';
import { setTxChecksumOffload } from '../../../src/links/tx-checksum-offload.js';
import { KernelDataMapStore } from '../../../src/maps/kernel-data-map-store.js';
import { AttachType } from '../../../src/syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { createVethPair, xdpAttachment, type VethPair } from '../../support/veth-pair.js';
import { loadXdp, UDP_DST_PORT_OFFSET, UDP_PAYLOAD_OFFSET, XDP_PASS } from '../../support/xdp-programs.js';
import {
  compileFor,
  connectUdp,
  executorOf,
  expectedDecisions,
  incomingCpu,
  payloadOf,
  receiveWaiting,
  sockaddrIn,
  udpSocketIn,
  waitUntil,
  xdpBackend,
} from './xdp-test-support.js';

const PORT = 41_800;
const SRC_PORT = 42_800;
/** Which CPU each datagram asks for (the policy returns the payload's first word). */
const CHOICES = [0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
const MAX_SEQ = 64;

/**
 * The program on the CPU map's entries: for UDP to PORT it records, at key seq (payload bytes
 * 8-11), the CPU it runs on plus one, so the test sees where each frame's processing went.
 */
function recordCpu(): Parameters<typeof loadXdp>[1] {
  return [
    loadMem(R2, R1, 0, 'W'),
    loadMem(R3, R1, 4, 'W'),
    Mov.reg(R4, R2),
    Add.imm(R4, UDP_PAYLOAD_OFFSET + 12),
    JGT.reg(R4, R3, 'pass'),
    loadMem(R5, R2, 23, 'B'),
    JNE.imm(R5, 17, 'pass'),
    loadMem(R5, R2, UDP_DST_PORT_OFFSET, 'H'),
    toBigEndian(R5, 16),
    JNE.imm(R5, PORT, 'pass'),
    loadMem(R5, R2, UDP_PAYLOAD_OFFSET + 8, 'W'),
    toBigEndian(R5, 32),
    JGT.imm(R5, MAX_SEQ - 1, 'pass'),
    storeMem(R10, -4, R5, 'W'),
    call('get_smp_processor_id'),
    Add.imm(R0, 1),
    storeMem(R10, -16, R0, 'DW'),
    loadMapPtr(R1, 'seen'),
    Mov.reg(R2, R10),
    Add.imm(R2, -4),
    Mov.reg(R3, R10),
    Add.imm(R3, -16),
    Mov.imm(R4, 0),
    call('map_update_elem'),
    label('pass'),
    Mov.imm(R0, XDP_PASS),
    exit(),
  ];
}

describeKernel('the cpu-redirect hook', { needs: ['bpf', 'netns', 'xdp-skb', 'xdp-driver'] }, () => {
  const sys = nativeSyscalls();
  const cpus = sys.possibleCpus();
  let pair: VethPair | undefined;
  beforeAll(async () => {
    pair = createVethPair();
    // A DRV-mode CPU map redirect of locally generated UDP loses CHECKSUM_PARTIAL, so the
    // frame would arrive with only the pseudo-header sum; the peer computes checksums itself.
    setTxChecksumOffload(pair.ifB, false, { netns: pair.nsB });
  });
  afterAll(() => pair?.remove());

  for (const mode of ['skb', 'drv'] as const) {
    it.skipIf(cpus < 2)(`${mode} mode: decision k moves each datagram's network processing to CPU k, for CPUs 0 and 1`, async () => {
      if (pair === undefined) throw new Error('no veth pair');
      const { nsA, nsB, ifA, ipA, ipB } = pair;
      using seen = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: MAX_SEQ }, { name: 'seen' });
      using onCpu = loadXdp('record_cpu', recordCpu(), { seen: seen.kernelMap }, AttachType.XDP_CPUMAP);
      const backend = xdpBackend();
      const target = { interface: ifA, port: PORT, extra: { netns: nsA, mode, cpus: [0, 1], cpuProgram: onCpu } };
      const attachment = (await backend.attach({ artifact: await compileFor(backend, 'cpu-redirect', 'by-first-word.ts', target), target })) as XdpAttachment;
      using receiver = udpSocketIn(sys, nsA, ipA, PORT);
      // SO_INCOMING_CPU follows only connected UDP sockets (__udp_queue_rcv_skb).
      connectUdp(receiver, ipB, SRC_PORT);
      using sender = udpSocketIn(sys, nsB, ipB, SRC_PORT);
      try {
        expect(attachment.mode).toBe(mode);
        expect(xdpAttachment(nsA, ifA)?.mode).toBe(mode);
        const expected = expectedDecisions(
          'by-first-word.ts',
          {},
          CHOICES.map((_, seq) => ({ payload: payloadOf(seq, CHOICES), srcAddr: ipB, dstAddr: ipA, srcPort: SRC_PORT, dstPort: PORT })),
        ).map(executorOf);
        expect(expected).toEqual(CHOICES);
        const incoming: number[] = [];
        for (let seq = 0; seq < CHOICES.length; seq++) {
          sys.sendto(sender, payloadOf(seq, CHOICES), 0, sockaddrIn(ipA, PORT));
          let got: Uint8Array[] = [];
          expect(await waitUntil(() => (got = receiveWaiting(receiver)).length > 0)).toBe(true);
          expect(got.map((d) => [...d])).toEqual([[...payloadOf(seq, CHOICES)]]);
          incoming.push(incomingCpu(sys, receiver));
        }
        expect(incoming).toEqual(CHOICES);
        expect(CHOICES.map((_, seq) => Number(seen.lookup(seq)?.[0] ?? 0n) - 1)).toEqual(CHOICES);
      } finally {
        await attachment.close();
      }
      expect(xdpAttachment(nsA, ifA)).toBeUndefined();
    }, 60_000);
  }

  it('passes a datagram whose chosen CPU is not a target (a CPU map miss) on to the stack as usual', async () => {
    if (pair === undefined) throw new Error('no veth pair');
    const { nsA, ifA, ipA, ipB } = pair;
    const backend = xdpBackend();
    // Only CPU 0 is a target: a decision for CPU 1 misses the map and passes on this CPU.
    const target = { interface: ifA, port: PORT, extra: { netns: nsA, mode: 'skb', cpus: [0] } };
    const attachment = (await backend.attach({ artifact: await compileFor(backend, 'cpu-redirect', 'by-first-word.ts', target), target })) as XdpAttachment;
    using receiver = udpSocketIn(sys, nsA, ipA, PORT);
    using sender = udpSocketIn(sys, pair.nsB, ipB, SRC_PORT);
    try {
      for (const choice of [1, 0, 5]) sys.sendto(sender, payloadOf(0, [choice]), 0, sockaddrIn(ipA, PORT));
      let got: Uint8Array[] = [];
      expect(await waitUntil(() => (got = [...got, ...receiveWaiting(receiver)]).length >= 3)).toBe(true);
      expect(got.map((d) => new DataView(d.buffer).getUint32(0)).sort()).toEqual([0, 1, 5]);
    } finally {
      await attachment.close();
    }
  }, 60_000);
});
