import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import koffi from 'koffi';
import { compilePolicy, ipv4Address, PolicyEvaluator, STANDARD_HOOKS, type DeployTarget, type PolicyDecision } from '@syrup/core';
import { EbpfBackend } from '../../../src/ebpf-backend.js';
import type { Fd } from '../../../src/fd.js';
import type { EbpfArtifact } from '../../../src/hooks/network-hook.js';
import { createXdpHooks } from '../../../src/hooks/xdp/xdp-hook.js';
import { XdpDispatchers } from '../../../src/hooks/xdp/xdp-dispatchers.js';
import { inNetworkNamespace } from '../../../src/links/network-namespace.js';
import type { Syscalls } from '../../../src/syscalls/syscalls.js';
import { receiveWaiting, sockaddrIn } from '../../support/sockets.js';

export { receiveWaiting, sockaddrIn };

/*
 * Traffic and checks for the XDP hook tests. Every socket made here is created inside one of
 * the test's own namespaces (a socket keeps the namespace it was made in), so no datagram
 * leaves the veth pair. Receiving, connect and SO_INCOMING_CPU, which only tests need, call
 * libc directly, as test/support/sockets.ts does.
 */

const AF_INET = 2;
const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const SOCK_RAW = 3;
const SOCK_NONBLOCK = 0o4000;
const SOL_SOCKET = 1;
const SO_REUSEPORT = 15;
const SO_RCVBUFFORCE = 33;
const SO_INCOMING_CPU = 49;
const ETH_P_ALL = 0x0003;

type Call = (...args: unknown[]) => number;
let libc: { connect: Call } | undefined;
function lib(): { connect: Call } {
  if (libc === undefined) {
    const l = koffi.load('libc.so.6');
    libc = {
      connect: l.func('int connect(int fd, const uint8_t *address, uint32_t length)') as Call,
    };
  }
  return libc;
}

export const CLIENT_SCRIPT = fileURLToPath(new URL('./fixtures/udp-client.mjs', import.meta.url));

/** A policy module of this test folder (or the standard pack) as the client would send it. */
export function policySource(file: string): { fileName: string; text: string } {
  const url = file.startsWith('std:') ? new URL(`../../../../policies-std/src/${file.slice(4)}.ts`, import.meta.url) : new URL(`./fixtures/${file}`, import.meta.url);
  return { fileName: fileURLToPath(url), text: readFileSync(url, 'utf8') };
}

/** The backend with the XDP hooks (and only them), as a deployment would reach them, and the dispatchers its hooks share. */
export function xdpBackend(): EbpfBackend & { readonly dispatchers: XdpDispatchers } {
  const dispatchers = new XdpDispatchers();
  return Object.assign(new EbpfBackend(createXdpHooks({ dispatchers })), { dispatchers });
}

/** Compiles a policy module for `hook` and `target` through the backend, with deploy-time params. */
export async function compileFor(
  backend: EbpfBackend,
  hook: 'xdp-skb' | 'xdp-drv' | 'cpu-redirect',
  file: string,
  target: DeployTarget,
  params: Record<string, number> = {},
): Promise<EbpfArtifact> {
  const source = policySource(file);
  const { ir, manifest } = compilePolicy(source, { params });
  return backend.compile({ policy: manifest, ir, hook: STANDARD_HOOKS[hook], source, target });
}

/** The payload of datagram `seq`, byte for byte what fixtures/udp-client.mjs sends. */
export function payloadOf(seq: number, kinds: readonly number[] = [0]): Uint8Array {
  const filler = seq % 29;
  const bytes = new Uint8Array(12 + filler);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, (kinds[seq % kinds.length] ?? 0) >>> 0);
  view.setUint32(8, seq >>> 0);
  for (let j = 0; j < filler; j++) bytes[12 + j] = (seq * 7 + j) & 0xff;
  return bytes;
}

/** The sequence number of a datagram built by `payloadOf`, read from an Ethernet + IPv4 (no options) + UDP frame. */
export function seqOfFrame(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(42 + 8);
}

export interface ClientOptions {
  readonly host: string;
  readonly port: number;
  readonly count: number;
  readonly intervalMs?: number;
  readonly burst?: number;
  readonly srcPorts?: readonly number[];
  readonly kinds?: readonly number[];
  readonly expectReplies?: boolean;
  readonly replyTimeoutMs?: number;
}

export interface ClientReport {
  readonly sent: number;
  readonly replies: number;
  readonly duplicates: number;
  readonly bad: readonly unknown[];
  readonly missing: readonly number[];
}

/** Runs fixtures/udp-client.mjs in namespace `ns` without blocking this event loop (the server under test runs in it). */
export function runUdpClient(ns: string, options: ClientOptions, timeoutMs = 60_000): Promise<ClientReport> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, CLIENT_SCRIPT, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(line) as ClientReport);
      } catch {
        reject(new Error(`the UDP client exited with ${String(code)}: ${stderr.trim() || stdout.trim()}`));
      }
    });
  });
}

/** `ip netns exec <ns> <command...>`. */
export async function inNamespace(ns: string, ...command: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)('ip', ['netns', 'exec', ns, ...command]);
  return stdout;
}

/** A non-blocking UDP socket made in `ns` and bound there to address:port (with SO_REUSEPORT when asked). */
export function udpSocketIn(sys: Syscalls, ns: string, address: string, port: number, reuseport = false): Fd {
  const fd = inNetworkNamespace(ns, () => sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0), { sys });
  try {
    if (reuseport) sys.setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, new Uint8Array([1, 0, 0, 0]));
    sys.bind(fd, sockaddrIn(address, port));
    return fd;
  } catch (error) {
    fd.close();
    throw error;
  }
}

/** connect(2) of a UDP socket: the kernel then records the CPU of each datagram it takes in (SO_INCOMING_CPU). */
export function connectUdp(fd: Fd, address: string, port: number): void {
  const bytes = sockaddrIn(address, port);
  if (lib().connect(fd.raw, bytes, bytes.length) < 0) throw new Error(`connect failed with errno ${koffi.errno()}`);
}

/** SO_INCOMING_CPU: the CPU on which the socket's last datagram went through the network stack. */
export function incomingCpu(sys: Syscalls, fd: Fd): number {
  const value = new Uint8Array(4);
  sys.getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, value);
  return new DataView(value.buffer).getInt32(0, true);
}

/** A packet socket in `ns` seeing every frame of interface `ifindex` there both ways (ETH_P_ALL), with a large buffer so none is lost. */
export function captureFrames(sys: Syscalls, ns: string, ifindex: number): Fd {
  const fd = inNetworkNamespace(ns, () => sys.socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, ((ETH_P_ALL & 0xff) << 8) | (ETH_P_ALL >> 8)), { sys });
  try {
    const size = new Uint8Array(4);
    new DataView(size.buffer).setInt32(0, 32 << 20, true);
    sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size);
    // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
    const address = new Uint8Array(20);
    const view = new DataView(address.buffer);
    view.setUint16(0, AF_PACKET, true);
    view.setUint16(2, ETH_P_ALL);
    view.setInt32(4, ifindex, true);
    sys.bind(fd, address);
    return fd;
  } catch (error) {
    fd.close();
    throw error;
  }
}

function sum16(bytes: Uint8Array, start: number, end: number, initial = 0): number {
  let sum = initial;
  for (let i = start; i < end; i += 2) sum += ((bytes[i] ?? 0) << 8) | (i + 1 < end ? (bytes[i + 1] ?? 0) : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

/**
 * Checks an Ethernet + IPv4 + UDP frame's checksums the way a receiver does (written apart
 * from src/xsk/internet-checksum.ts on purpose): the IPv4 header sums to 0xffff, and the UDP
 * datagram with its pseudo-header sums to 0xffff with a checksum field that is not 0.
 */
export function checksumsValid(frame: Uint8Array): { ip: boolean; udp: boolean } {
  const ihl = ((frame[14] ?? 0) & 0x0f) * 4;
  const ip = sum16(frame, 14, 14 + ihl) === 0xffff;
  const l4 = 14 + ihl;
  const udpLength = ((frame[l4 + 4] ?? 0) << 8) | (frame[l4 + 5] ?? 0);
  const pseudo = sum16(frame, 26, 34, 17 + udpLength);
  const checksumField = ((frame[l4 + 6] ?? 0) << 8) | (frame[l4 + 7] ?? 0);
  const udp = checksumField !== 0 && sum16(frame, l4, l4 + udpLength, pseudo) === 0xffff;
  return { ip, udp };
}

/** IPv4 UDP frames in `frames` whose source port is `port` (the replies of a server on that port). */
export function udpFramesFrom(frames: readonly Uint8Array[], port: number): Uint8Array[] {
  return frames.filter((f) => f.length >= 42 && f[12] === 0x08 && f[13] === 0x00 && f[23] === 17 && (((f[34] ?? 0) << 8) | (f[35] ?? 0)) === port);
}

export async function waitUntil(done: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

export interface DatagramInput {
  readonly payload: Uint8Array;
  readonly srcAddr: string;
  readonly dstAddr: string;
  readonly srcPort: number;
  readonly dstPort: number;
}

/** The executor each datagram gets from the policy in userspace (core's evaluator), in order, with fresh maps. */
export function expectedDecisions(file: string, params: Record<string, number>, inputs: readonly DatagramInput[]): PolicyDecision[] {
  const { ir } = compilePolicy(policySource(file), { params });
  const evaluator = new PolicyEvaluator(ir);
  return inputs.map((input) =>
    evaluator.evaluate({
      payload: input.payload,
      srcAddr: ipv4Address(input.srcAddr),
      dstAddr: ipv4Address(input.dstAddr),
      srcPort: input.srcPort,
      dstPort: input.dstPort,
    }),
  );
}

/** The executor key of a decision, or -1 for PASS/DROP. */
export function executorOf(decision: PolicyDecision): number {
  return decision.kind === 'executor' ? Number(decision.key) : -1;
}
