import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const REUSEPORT_SERVER = join(here, '../../../backend-ebpf/test/hooks/socket-select/fixtures/reuseport-server.py');

/** N reusePort UDP sockets of this process on one loopback port, counting what each receives. */
export async function udpGroup(count: number): Promise<{ sockets: Socket[]; port: number; counts: number[]; close(): void }> {
  const sockets: Socket[] = [];
  const counts = Array.from({ length: count }, () => 0);
  let port = 0;
  for (let i = 0; i < count; i++) {
    const socket = createSocket({ type: 'udp4', reusePort: true });
    socket.on('message', () => (counts[i] = (counts[i] ?? 0) + 1));
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, '127.0.0.1', () => resolve());
    });
    port = socket.address().port;
  }
  return { sockets, port, counts, close: () => sockets.forEach((s) => s.close()) };
}

/** Sends `count` datagrams from `flows` distinct source ports; payload byte 3 is the sequence. */
export async function send(port: number, count: number, payload: (i: number) => Uint8Array = (i) => Uint8Array.of(0, 0, 0, i & 0xff), flows = 5): Promise<void> {
  const senders: Socket[] = [];
  for (let f = 0; f < flows; f++) {
    const s = createSocket('udp4');
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    senders.push(s);
  }
  for (let i = 0; i < count; i++) {
    const s = senders[i % flows] as Socket;
    await new Promise<void>((resolve, reject) => s.send(payload(i), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  }
  for (const s of senders) s.close();
}

/** Polls until `condition` holds or `timeoutMs` passes. */
export async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}

export interface PythonServer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  readonly pid: number;
  /** Sends a command line and resolves with the next JSON line. */
  ask(command: string): Promise<unknown>;
  kill(): void;
}

/** A Python UDP server with N SO_REUSEPORT sockets and no Syrup code. */
export async function pythonServer(count: number): Promise<PythonServer> {
  const child = spawn('python3', [REUSEPORT_SERVER, String(count)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout });
  const waiting: ((line: string) => void)[] = [];
  lines.on('line', (line) => waiting.shift()?.(line));
  const next = (): Promise<unknown> => new Promise((resolve) => waiting.push((line) => resolve(JSON.parse(line))));
  const hello = (await next()) as { port: number; pid: number };
  return {
    child,
    port: hello.port,
    pid: hello.pid,
    ask: (command) => {
      const answer = next();
      child.stdin.write(`${command}\n`);
      return answer;
    },
    kill: () => child.kill(),
  };
}
