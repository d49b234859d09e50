import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { deployer, policyUnit, PythonChild, pythonReceived, pythonServer, socketDrops, socketInodesOf, udpCounters } from './support.js';

const SOCKETS = 4;
const SWAPS = 100;

describeKernel('socket-select hot swap under a continuous stream', { needs: ['bpf'] }, () => {
  const deploy = deployer();
  const children: PythonChild[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill();
  });

  it(`alternates two policies ${SWAPS} times without losing a datagram or letting one fall to the kernel's hash`, async () => {
    const server = await pythonServer(SOCKETS);
    children.push(server.child);
    const inodes = [...socketInodesOf(server.pid, server.fds)];
    // A puts datagram d on socket d % 2, B on 2 + d % 2: the two never agree, and a datagram the
    // kernel hashed would land outside A(d) ∪ B(d) half the time, whichever flow it came from.
    const a = policyUnit('parity-low.ts');
    const b = policyUnit('parity-high.ts');
    const d = await deploy(a, { port: server.port, pid: server.pid });
    try {
      const countersBefore = udpCounters();
      // The sender is its own process, so the stream goes on while this one loads programs.
      const sender = new PythonChild('paced-sender.py', [String(server.port), '100', '8']);
      children.push(sender);
      await sender.next();
      await sleep(20);
      for (let i = 0; i < SWAPS; i++) {
        await d.replace(i % 2 === 0 ? b : a);
        await sleep(2);
      }
      await sleep(20);
      const { sent } = await sender.ask<{ sent: number }>('stop');
      const received = await pythonReceived(server.child, sent, 10_000);

      const seqs = received.flat().sort((x, y) => x - y);
      expect(seqs.length).toBe(sent);
      expect(seqs.every((seq, i) => seq === i)).toBe(true);
      const misplaced = received.flatMap((list, socket) => list.filter((seq) => socket !== seq % 2 && socket !== 2 + (seq % 2)));
      expect(misplaced).toEqual([]);
      // Both policies carried traffic: the swaps took effect.
      expect(received.every((list) => list.length > 0)).toBe(true);
      // Every datagram ran exactly one of the programs, which share the kept `seen` map.
      expect(await d.maps['seen']?.get(0)).toBe(BigInt(sent));

      expect(socketDrops(inodes)).toEqual([0, 0, 0, 0]);
      const countersAfter = udpCounters();
      for (const counter of ['RcvbufErrors', 'InErrors']) expect({ counter, delta: (countersAfter[counter] ?? 0) - (countersBefore[counter] ?? 0) }).toEqual({ counter, delta: 0 });
      expect(sent).toBeGreaterThan(SWAPS * 5);
    } finally {
      await d.undeploy();
    }
  }, 60_000);
});
