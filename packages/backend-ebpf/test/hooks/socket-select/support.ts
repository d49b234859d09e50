import 'reflect-metadata';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { container } from 'tsyringe';
import { Backend, compilePolicy, HookRegistry, ManagedDeployment, registerHookRegistry, type DeployTarget, type PolicyUnit } from '@syrup/core';
import { EbpfBackend } from '../../../src/ebpf-backend.js';
import { nodeSocketFd } from '../../../src/hooks/socket-select/node-socket-fd.js';
import { SocketSelectHook } from '../../../src/hooks/socket-select/socket-select-hook.js';
import { openFds } from '@syrup/test-support/open-fds';

const here = dirname(fileURLToPath(import.meta.url));
const POLICIES_STD = join(here, '../../../../policies-std/src');
const FIXTURES = join(here, 'fixtures');

/** A policy module read as the client would and compiled once, as the runtime does: its text, IR and manifest with the params it is deployed with. */
export function policyUnit(file: string, params?: Readonly<Record<string, number>>): PolicyUnit {
  const path = file.includes('/') ? file : file.startsWith('std:') ? join(POLICIES_STD, `${file.slice(4)}.ts`) : join(FIXTURES, file);
  const source = { fileName: path.split('/').at(-1) as string, text: readFileSync(path, 'utf8') };
  const { ir, manifest } = compilePolicy(source, params === undefined ? {} : { params });
  return { manifest, ir, source };
}

/** Core's deploy path with only the eBPF backend and its socket-select hook registered. */
export function deployer(): (unit: PolicyUnit, target: DeployTarget) => Promise<ManagedDeployment> {
  const child = container.createChildContainer();
  child.register(Backend, { useValue: new EbpfBackend([new SocketSelectHook()]) });
  registerHookRegistry(child);
  const registry = child.resolve<HookRegistry>(HookRegistry);
  return (unit, target) => new ManagedDeployment(registry, unit, { hook: 'socket-select', target }).start();
}

/** Polls `condition` every few milliseconds until it holds or `timeoutMs` passes; answers whether it held. */
export async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

/** N Node UDP sockets with reusePort on one loopback port, recording what each receives. */
export class UdpGroup {
  readonly sockets: Socket[] = [];
  /** Per socket, each datagram received: its payload and source port. */
  readonly received: { payload: Buffer; from: number }[][] = [];
  port = 0;

  static async open(count: number, options: { reusePort?: boolean; family?: 'udp4' | 'udp6'; port?: number } = {}): Promise<UdpGroup> {
    const group = new UdpGroup();
    const family = options.family ?? 'udp4';
    group.port = options.port ?? 0;
    try {
      for (let i = 0; i < count; i++) {
        const socket = createSocket({ type: family, reusePort: options.reusePort ?? true, ...(family === 'udp6' ? { ipv6Only: true } : {}) });
        const list: { payload: Buffer; from: number }[] = [];
        socket.on('message', (payload, remote) => list.push({ payload, from: remote.port }));
        group.sockets.push(socket);
        group.received.push(list);
        await new Promise<void>((resolve, reject) => {
          socket.once('error', reject);
          socket.bind(group.port, family === 'udp4' ? '127.0.0.1' : '::1', () => resolve());
        });
        group.port = socket.address().port;
      }
      return group;
    } catch (error) {
      group.close();
      throw error;
    }
  }

  get counts(): number[] {
    return this.received.map((list) => list.length);
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  clear(): void {
    for (const list of this.received) list.length = 0;
  }

  /** Socket inodes of the group, in socket order. */
  inodes(): number[] {
    return this.sockets.map((s) => Number(/\d+/.exec(readlinkSync(`/proc/self/fd/${nodeSocketFd(s) ?? -1}`))?.[0]));
  }

  close(): void {
    for (const socket of this.sockets) {
      try {
        socket.close();
      } catch {
        // Already closed.
      }
    }
  }
}

/** UDP sockets on distinct loopback source ports: one flow each. */
export class Senders {
  readonly sockets: Socket[] = [];

  static async open(count: number, family: 'udp4' | 'udp6' = 'udp4'): Promise<Senders> {
    const senders = new Senders();
    for (let i = 0; i < count; i++) {
      const socket = createSocket(family);
      senders.sockets.push(socket);
      await new Promise<void>((resolve) => socket.bind(0, family === 'udp4' ? '127.0.0.1' : '::1', () => resolve()));
    }
    return senders;
  }

  ports(): number[] {
    return this.sockets.map((s) => s.address().port);
  }

  send(flow: number, port: number, payload: Uint8Array): Promise<void> {
    const socket = this.sockets[flow % this.sockets.length] as Socket;
    const host = socket.address().family === 'IPv6' ? '::1' : '127.0.0.1';
    return new Promise((resolve, reject) => socket.send(payload, port, host, (error) => (error ? reject(error) : resolve())));
  }

  close(): void {
    for (const socket of this.sockets) socket.close();
  }
}

/** Udp counters of /proc/net/snmp by name (InErrors, RcvbufErrors, NoPorts...). */
export function udpCounters(): Record<string, number> {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').split(/\s+/).slice(1);
  const values = (lines[1] ?? '').split(/\s+/).slice(1);
  return Object.fromEntries(names.map((name, i) => [name, Number(values[i])]));
}

/** The `drops` column of /proc/net/udp for each inode given. */
export function socketDrops(inodes: readonly number[]): number[] {
  const rows = readFileSync('/proc/net/udp', 'utf8').trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  return inodes.map((inode) => Number(rows.find((r) => r[9] === String(inode))?.[12] ?? Number.NaN));
}

/** Whether any UDP socket of this network namespace is bound to `port`. */
export function udpPortInUse(port: number): boolean {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1).some((l) => l.trim().split(/\s+/)[1]?.endsWith(hex) === true);
}

/** The socket inodes this process's fds point at. */
export function ownSocketInodes(): Set<number> {
  const inodes = new Set<number>();
  for (const { target } of openFds()) {
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match?.[1] !== undefined) inodes.add(Number(match[1]));
  }
  return inodes;
}

/** A free loopback UDP port: bound to port 0 once, then released. */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const { port } = socket.address();
  await new Promise<void>((resolve) => socket.close(() => resolve()));
  return port;
}

/** A Python child speaking JSON lines: one line in, one line out. */
export class PythonChild {
  readonly process: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #pending: string[] = [];
  readonly #waiters: ((line: string) => void)[] = [];
  readonly exited: Promise<number | null>;
  stderr = '';

  constructor(script: string, args: readonly string[]) {
    this.process = spawn('python3', [join(FIXTURES, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => resolve(code)));
    this.#lines = createInterface({ input: this.process.stdout });
    this.#lines.on('line', (line) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(line);
      else this.#pending.push(line);
    });
  }

  get pid(): number {
    return this.process.pid as number;
  }

  /** The next line the child prints, parsed. */
  async next<T>(timeoutMs = 10_000): Promise<T> {
    const line =
      this.#pending.shift() ??
      (await Promise.race([
        new Promise<string>((resolve) => this.#waiters.push(resolve)),
        sleep(timeoutMs).then(() => {
          throw new Error(`python child printed nothing in ${timeoutMs} ms: ${this.stderr}`);
        }),
      ]));
    return JSON.parse(line) as T;
  }

  async ask<T>(command: string): Promise<T> {
    this.process.stdin.write(`${command}\n`);
    return this.next<T>();
  }

  /** Closes its stdin (the scripts exit on end of file) and waits for the exit. */
  async end(): Promise<number | null> {
    this.process.stdin.end();
    return this.exited;
  }

  kill(): void {
    if (this.process.exitCode === null) this.process.kill('SIGKILL');
  }
}

/** The Python reuseport server with `count` sockets; resolves once they are bound. */
export async function pythonServer(count: number): Promise<{ child: PythonChild; port: number; pid: number; fds: number[] }> {
  const child = new PythonChild('reuseport-server.py', [String(count)]);
  try {
    const ready = await child.next<{ port: number; pid: number; fds: number[] }>();
    return { child, ...ready };
  } catch (error) {
    child.kill();
    throw error;
  }
}

/** Asks the Python server what it received until `total` datagrams arrived (or time is up). */
export async function pythonReceived(child: PythonChild, total: number, timeoutMs = 5000): Promise<number[][]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { received } = await child.ask<{ received: number[][] }>('report');
    const got = received.reduce((n, list) => n + list.length, 0);
    if (got >= total || Date.now() > deadline) return received;
    await sleep(20);
  }
}

/** The socket inodes of another process's fds (of all of them, or of `fds`). */
export function socketInodesOf(pid: number, fds?: readonly number[]): Set<number> {
  const inodes = new Set<number>();
  for (const name of fds?.map(String) ?? readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${name}`));
      if (match?.[1] !== undefined) inodes.add(Number(match[1]));
    } catch {
      // Closed meanwhile.
    }
  }
  return inodes;
}
