import { readFileSync, readlinkSync } from 'node:fs';
import { createSocket, type Socket } from 'node:dgram';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { flowHash, type PolicyIr } from '@syrup/core';
import { generateProgram } from '../../src/codegen/generate-program.js';
import type { Fd } from '../../src/fd.js';
import { ReuseportAttachment } from '../../src/links/reuseport-attachment.js';
import { nativeSyscalls } from '../../src/syscalls/native-syscalls.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { loadSpec, u32Key, u64Value, type LoadedSpec } from './kernel-support.js';
import { policyIr } from './support.js';

const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SOCKETS = 4;

/**
 * payload[0] picks the socket; 0xff drops; 0xfe picks the framework hash modulo 4; an empty
 * payload passes (the kernel's own hash picks). A payload over 40000 bytes picks
 * payload[50000] ^ payload[length - 1]: bytes past the skb's linear head, read with
 * bpf_skb_load_bytes.
 */
function steeringPolicy(): PolicyIr {
  return policyIr({
    name: 'steer',
    input: 'udp',
    insns: [
      { op: 'input', dst: 0, field: 'payloadLength' },
      { op: 'jump-if', kind: 'eq', a: 0, b: 0n, target: 'pass' },
      { op: 'jump-if', kind: 'gt', a: 0, b: 40000n, target: 'big' },
      { op: 'load', dst: 1, region: 'payload', offset: 0n, size: 1, byteOrder: 'be' },
      { op: 'jump-if', kind: 'eq', a: 1, b: 0xffn, target: 'drop' },
      { op: 'jump-if', kind: 'eq', a: 1, b: 0xfen, target: 'hash' },
      { op: 'return', verdict: 'executor', value: 1 },
      { op: 'label', label: 'hash' },
      { op: 'input', dst: 2, field: 'hash' },
      { op: 'binary', kind: 'mod', dst: 3, a: 2, b: BigInt(SOCKETS) },
      { op: 'return', verdict: 'executor', value: 3 },
      { op: 'label', label: 'big' },
      { op: 'load', dst: 4, region: 'payload', offset: 50000n, size: 1, byteOrder: 'be' },
      { op: 'binary', kind: 'sub', dst: 5, a: 0, b: 4n },
      { op: 'load', dst: 6, region: 'payload', offset: 5, size: 4, byteOrder: 'be' },
      { op: 'binary', kind: 'xor', dst: 7, a: 4, b: 6 },
      { op: 'return', verdict: 'executor', value: 7 },
      { op: 'label', label: 'pass' },
      { op: 'return', verdict: 'pass' },
      { op: 'label', label: 'drop' },
      { op: 'return', verdict: 'drop' },
    ],
  });
}

function sockaddr(family: 'udp4' | 'udp6', port: number): Uint8Array {
  const bytes = new Uint8Array(family === 'udp4' ? 16 : 28);
  const view = new DataView(bytes.buffer);
  view.setUint16(0, family === 'udp4' ? AF_INET : AF_INET6, true);
  view.setUint16(2, port);
  if (family === 'udp4') bytes.set([127, 0, 0, 1], 4);
  else bytes[8 + 15] = 1; // ::1
  return bytes;
}

/** Bytes queued on each socket, by inode, from /proc/net/udp{,6}. */
function queued(family: 'udp4' | 'udp6'): Map<string, number> {
  const out = new Map<string, number>();
  const lines = readFileSync(family === 'udp4' ? '/proc/net/udp' : '/proc/net/udp6', 'utf8').trim().split('\n').slice(1);
  for (const line of lines) {
    const fields = line.trim().split(/\s+/);
    out.set(fields[9]!, Number.parseInt(fields[4]!.split(':')[1]!, 16));
  }
  return out;
}

interface Group {
  readonly family: 'udp4' | 'udp6';
  readonly port: number;
  readonly sockets: Fd[];
  readonly inodes: string[];
  readonly loaded: LoadedSpec;
  readonly sender: Socket;
}

let group: Group | undefined;

afterEach(() => {
  if (group === undefined) return;
  group.sender.close();
  group.loaded.close();
  for (const socket of group.sockets) socket.close();
  group = undefined;
});

async function openGroup(family: 'udp4' | 'udp6'): Promise<Group> {
  const sys = nativeSyscalls();
  const loaded = loadSpec(generateProgram(steeringPolicy(), { target: 'socket-select', maxExecutors: SOCKETS }));
  for (let attempt = 0; ; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const sockets: Fd[] = [];
    try {
      for (let i = 0; i < SOCKETS; i++) {
        const socket = sys.socket(family === 'udp4' ? AF_INET : AF_INET6, SOCK_DGRAM, 0);
        sockets.push(socket);
        sys.setsockopt(socket, SOL_SOCKET, SO_REUSEPORT, new Uint8Array([1, 0, 0, 0]));
        sys.bind(socket, sockaddr(family, port));
      }
    } catch (error) {
      for (const socket of sockets) socket.close();
      if (attempt < 5) continue;
      throw error;
    }
    const executors = loaded.maps.get('.executors')!;
    sockets.forEach((socket, i) => executors.update(u32Key(i), u64Value(BigInt(socket.raw))));
    ReuseportAttachment.attach(sockets[0]!, loaded.program);
    const inodes = sockets.map((s) => readlinkSync(`/proc/self/fd/${s.raw}`).replace(/^socket:\[(\d+)\]$/, '$1'));
    const sender = createSocket(family);
    await new Promise<void>((resolve) => sender.bind(0, family === 'udp4' ? '127.0.0.1' : '::1', resolve));
    group = { family, port, sockets, inodes, loaded, sender };
    return group;
  }
}

/** Sends one datagram and answers which socket of the group received it (undefined: none). */
async function deliver(g: Group, payload: Uint8Array): Promise<number | undefined> {
  const before = queued(g.family);
  await new Promise<void>((resolve, reject) =>
    g.sender.send(payload, g.port, g.family === 'udp4' ? '127.0.0.1' : '::1', (error) => (error ? reject(error) : resolve())),
  );
  for (let wait = 0; wait < 20; wait++) {
    const after = queued(g.family);
    const grew = g.inodes.map((inode, i) => ((after.get(inode) ?? 0) > (before.get(inode) ?? 0) ? i : -1)).filter((i) => i >= 0);
    if (grew.length > 1) throw new Error(`one datagram reached sockets ${grew.join(', ')}`);
    if (grew.length === 1) return grew[0];
    await sleep(10);
  }
  return undefined;
}

describeKernel('socket-select programs steering real UDP sockets', { needs: ['bpf'] }, () => {
  for (const family of ['udp4', 'udp6'] as const) {
    it(`steers ${family} datagrams by payload and by the framework hash, drops and passes`, async () => {
      const g = await openGroup(family);
      for (const k of [2, 0, 3, 1, 2]) expect(await deliver(g, new Uint8Array([k, 0x42]))).toBe(k);
      const address = g.sender.address();
      // ::1 folds to 1 (the XOR of its words), 127.0.0.1 is 0x7f000001.
      const addr = family === 'udp4' ? 0x7f00_0001 : 1;
      expect(await deliver(g, new Uint8Array([0xfe]))).toBe(flowHash(addr, addr, address.port, g.port) % SOCKETS);
      expect(await deliver(g, new Uint8Array([0xff]))).toBeUndefined();
      // Beyond the socket array, and an empty payload: SK_PASS without a selection, the kernel hashes.
      expect(await deliver(g, new Uint8Array([9]))).toBeTypeOf('number');
      expect(await deliver(g, new Uint8Array(0))).toBeTypeOf('number');
      // 60000 bytes on loopback arrive in page fragments: the reads past the linear head take the helper path.
      const big = new Uint8Array(60000);
      big[50000] = 1;
      big[59999] = 3;
      expect(await deliver(g, big)).toBe(2);
      big[50000] = 3;
      expect(await deliver(g, big)).toBe(0);
    });
  }
});

/** Connection requests go to listener `hash % 4`; a source port ending in 7 is refused (DROP). */
function tcpPolicy(): PolicyIr {
  return policyIr({
    name: 'steer-tcp',
    input: 'tcp',
    insns: [
      { op: 'input', dst: 0, field: 'srcPort' },
      { op: 'binary', kind: 'mod', dst: 1, a: 0, b: 10n },
      { op: 'jump-if', kind: 'eq', a: 1, b: 7n, target: 'drop' },
      { op: 'input', dst: 2, field: 'hash' },
      { op: 'binary', kind: 'mod', dst: 3, a: 2, b: BigInt(SOCKETS) },
      { op: 'return', verdict: 'executor', value: 3 },
      { op: 'label', label: 'drop' },
      { op: 'return', verdict: 'drop' },
    ],
  });
}

describeKernel('socket-select programs steering TCP connection requests', { needs: ['bpf'] }, () => {
  it('sends each SYN to the listener its hash picks', async () => {
    const { createServer, connect } = await import('node:net');
    const sys = nativeSyscalls();
    using loaded = loadSpec(generateProgram(tcpPolicy(), { target: 'socket-select', maxExecutors: SOCKETS }));
    const servers = Array.from({ length: SOCKETS }, () => createServer());
    const accepted: { server: number; remotePort: number }[] = [];
    servers.forEach((server, i) =>
      server.on('connection', (socket) => {
        accepted.push({ server: i, remotePort: socket.remotePort! });
        socket.destroy();
      }),
    );
    try {
      let port = 0;
      for (const server of servers) {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen({ port, host: '127.0.0.1', reusePort: true }, resolve);
        });
        port = (server.address() as { port: number }).port;
      }
      // Node keeps the listening fds; the socket array takes their numbers, attaching needs an owned dup.
      const fds = servers.map((s) => (s as unknown as { _handle: { fd: number } })._handle.fd);
      const executors = loaded.maps.get('.executors')!;
      fds.forEach((fd, i) => executors.update(u32Key(i), u64Value(BigInt(fd))));
      const { Fd } = await import('../../src/fd.js');
      using dup = Fd.adopt(sys.dupFd(fds[0]!, 1), sys);
      ReuseportAttachment.attach(dup, loaded.program);

      const clientPorts: number[] = [];
      for (let i = 0; i < 8; i++) {
        const client = connect({ port, host: '127.0.0.1', timeout: 300 });
        const outcome = await new Promise<'connected' | 'failed'>((resolve) => {
          client.once('connect', () => resolve('connected'));
          client.once('error', () => resolve('failed'));
          client.once('timeout', () => resolve('failed'));
        });
        const local = client.localPort;
        client.destroy();
        if (outcome === 'connected' && local !== undefined) clientPorts.push(local);
      }
      await sleep(50);
      expect(clientPorts.length).toBeGreaterThan(0);
      for (const remotePort of clientPorts) {
        const got = accepted.find((a) => a.remotePort === remotePort);
        expect(got?.server, `client port ${remotePort}`).toBe(flowHash(0x7f00_0001, 0x7f00_0001, remotePort, port) % SOCKETS);
        expect(remotePort % 10).not.toBe(7);
      }
    } finally {
      for (const server of servers) server.close();
    }
  });
});
