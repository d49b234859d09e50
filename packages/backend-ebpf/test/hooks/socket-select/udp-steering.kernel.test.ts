import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import type { Fd } from '../../../src/fd.js';
import { nativeSyscalls } from '../../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { boundPort, collect, reuseportUdpSocket } from '../../support/sockets.js';
import { deployer, policyUnit, Senders, udpCounters, UdpGroup, waitFor } from './support.js';

const SOCKETS = 4;

describeKernel('socket-select steers UDP datagrams of a real reuseport group', { needs: ['bpf'] }, () => {
  const deploy = deployer();
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function group(): Promise<UdpGroup> {
    const g = await UdpGroup.open(SOCKETS);
    cleanup.push(() => g.close());
    return g;
  }

  async function senders(count: number): Promise<Senders> {
    const s = await Senders.open(count);
    cleanup.push(() => s.close());
    return s;
  }

  it('round robin spreads 600 datagrams from 5 flows exactly evenly over 4 Node sockets passed explicitly', async () => {
    const g = await group();
    const from = await senders(5);
    const d = await deploy(policyUnit('std:round-robin', { SOCKETS }), { port: g.port, extra: { sockets: g.sockets } });
    cleanup.push(() => d.undeploy());
    for (let i = 0; i < 600; i++) await from.send(i, g.port, Buffer.from([i & 0xff, 0, 0, 0]));
    expect(await waitFor(() => g.total === 600)).toBe(true);
    expect(g.counts).toEqual([150, 150, 150, 150]);
    // Datagram i comes from flow i % 5 and goes to socket i % 4, so every flow reaches every
    // socket: the spread is the policy's, where the kernel's hash would pin each flow to one.
    for (const list of g.received) expect(new Set(list.map((m) => m.from)).size).toBe(5);
    expect(await d.maps['next']?.get(0)).toBe(600n);
  });

  it('SITA sends every type-1 request to socket 0 and spreads the rest over the others (sockets passed as Fds)', async () => {
    const sys = nativeSyscalls();
    const first = reuseportUdpSocket(sys, 0);
    const port = boundPort(first);
    const fds: Fd[] = [first, ...Array.from({ length: SOCKETS - 1 }, () => reuseportUdpSocket(sys, port))];
    cleanup.push(() => fds.forEach((fd) => fd.close()));
    const from = await senders(5);
    const d = await deploy(policyUnit('std:sita', { SOCKETS }), { port, extra: { sockets: fds } });
    cleanup.push(() => d.undeploy());
    for (let i = 0; i < 300; i++) {
      // type (0 GET, 1 SCAN, 2 PUT), user id, request id, key: big-endian, as the KV server sends them.
      const request = Buffer.alloc(24);
      request.writeUInt32BE(i % 3 === 0 ? 1 : i % 3 === 1 ? 0 : 2, 0);
      request.writeUInt32BE(7, 4);
      request.writeBigUInt64BE(BigInt(i), 8);
      await from.send(i, port, request);
    }
    const got = await collect(fds, 300);
    const types = got.map((list) => list.map((d) => Buffer.from(d).readUInt32BE(0)));
    expect(types[0]).toHaveLength(100);
    expect(types[0]?.every((t) => t === 1)).toBe(true);
    for (const others of types.slice(1)) expect(others.includes(1)).toBe(false);
    // 200 short requests, round robin over sockets 1..3 from next = 0.
    expect(types.map((t) => t.length)).toEqual([100, 67, 67, 66]);
  });

  it('PASS gives every flow the socket it gets with no program at all, before and after', async () => {
    const g = await group();
    const flows = await senders(64);
    const mapping = async (): Promise<number[]> => {
      g.clear();
      for (let f = 0; f < 64; f++) await flows.send(f, g.port, Buffer.from([f]));
      expect(await waitFor(() => g.total === 64)).toBe(true);
      const socketOf: number[] = [];
      g.received.forEach((list, socket) => list.forEach((m) => (socketOf[m.payload[0] as number] = socket)));
      return socketOf;
    };
    const without = await mapping();
    // The kernel's hash spreads 64 flows over more than one socket, so the comparison means something.
    expect(new Set(without).size).toBeGreaterThan(1);

    // Found by port alone: this process holds the sockets.
    const d = await deploy(policyUnit('pass.ts'), { port: g.port });
    const withPass = await mapping();
    await d.undeploy();
    const after = await mapping();
    expect(withPass).toEqual(without);
    expect(after).toEqual(without);
  });

  it('tells the IPv4 and IPv6 groups of one port apart, and steers the IPv6 one named by extra.address', async () => {
    const v4 = await group();
    const v6 = await UdpGroup.open(2, { family: 'udp6', port: v4.port });
    cleanup.push(() => v6.close());
    const unit = policyUnit('std:round-robin', { SOCKETS: 2 });
    const ambiguous = await deploy(unit, { port: v4.port }).catch((e: unknown) => e);
    expect((ambiguous as { code: string }).code).toBe('SOCKET_SELECT_AMBIGUOUS_GROUP');
    const d = await deploy(unit, { port: v4.port, extra: { address: '::1' } });
    cleanup.push(() => d.undeploy());
    const from = await senders(1);
    const from6 = await Senders.open(1, 'udp6');
    cleanup.push(() => from6.close());
    for (let i = 0; i < 10; i++) await from6.send(0, v6.port, Buffer.from([i]));
    expect(await waitFor(() => v6.total === 10)).toBe(true);
    expect(v6.counts).toEqual([5, 5]);
    // The IPv4 group is another group: no program there, one flow hashes to one socket.
    for (let i = 0; i < 8; i++) await from.send(0, v4.port, Buffer.from([i]));
    expect(await waitFor(() => v4.total === 8)).toBe(true);
    expect(v4.counts.filter((n) => n > 0)).toEqual([8]);
  });

  it('replace keeps maps of the same name and shape, creates the others, and closes those the new policy drops', async () => {
    const g = await group();
    const from = await senders(1);
    const d = await deploy(policyUnit('std:round-robin', { SOCKETS }), { port: g.port });
    cleanup.push(() => d.undeploy());
    for (let i = 0; i < 6; i++) await from.send(0, g.port, Buffer.from([i]));
    expect(await waitFor(() => g.total === 6)).toBe(true);
    const next = d.maps['next'];

    // sita declares the same `next`: kept, so its round robin goes on from 6 (sockets 1 + 6 % 3 = 1, then 2, 3).
    await d.replace(policyUnit('std:sita', { SOCKETS }));
    expect(await d.maps['next']?.get(0)).toBe(6n);
    g.clear();
    for (let i = 0; i < 3; i++) await from.send(0, g.port, Buffer.from([0, 0, 0, 0]));
    expect(await waitFor(() => g.total === 3)).toBe(true);
    expect(g.counts).toEqual([0, 1, 1, 1]);

    // drop-counting has no `next` (closed now) and a new `seen`.
    await d.replace(policyUnit('drop-counting.ts'));
    expect(Object.keys(d.maps)).toEqual(['seen']);
    await expect(next?.get(0)).rejects.toThrow();
    await from.send(0, g.port, Buffer.from([1]));
    expect(await d.maps['seen']?.get(0)).toBe(1n);

    // A refused replace (a TCP policy on a UDP group) leaves the old policy in place.
    await expect(d.replace(policyUnit('tcp-round-robin.ts'))).rejects.toThrow(/tcp inputs/);
    expect(d.state).toBe('active');
    expect(d.policy.name).toBe('drop-counting');
  });

  it('DROP drops every datagram (the policy counts them, the kernel counts no port) until undeployed', async () => {
    const g = await group();
    const from = await senders(4);
    const d = await deploy(policyUnit('drop-counting.ts'), { port: g.port, pid: process.pid });
    cleanup.push(() => d.undeploy());
    const before = udpCounters();
    for (let i = 0; i < 50; i++) await from.send(i, g.port, Buffer.from([1, 2, 3, 4]));
    await sleep(200);
    expect(g.total).toBe(0);
    expect(await d.maps['seen']?.get(0)).toBe(50n);
    // A selection refused by the program (SK_DROP) leaves the datagram without a socket.
    expect((udpCounters()['NoPorts'] ?? 0) - (before['NoPorts'] ?? 0)).toBeGreaterThanOrEqual(50);

    await d.undeploy();
    for (let i = 0; i < 8; i++) await from.send(i, g.port, Buffer.from([1, 2, 3, 4]));
    expect(await waitFor(() => g.total === 8)).toBe(true);
  });
});
