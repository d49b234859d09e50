import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The unmodified Python reuseport server the backend's tests use: it reports, per socket, the first u32 (big-endian) of each datagram. */
const REUSEPORT_SERVER = join(here, '../../../../packages/backend-ebpf/test/hooks/socket-select/fixtures/reuseport-server.py');

export interface UdpServer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly port: number;
  readonly pid: number;
  readonly exited: Promise<unknown>;
  /** Per socket (in creation order), the sequence numbers received so far. */
  report(): Promise<number[][]>;
  /** Forgets what was received. */
  reset(): Promise<void>;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

/** Starts the Python server with `count` SO_REUSEPORT sockets on 127.0.0.1 (`port`, or a free one). */
export async function udpServer(count: number, port = 0): Promise<UdpServer> {
  const child = spawn('python3', [REUSEPORT_SERVER, String(count), String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const waiting: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => waiting.shift()?.(line));
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const next = (): Promise<unknown> =>
    Promise.race([
      new Promise((resolve) => waiting.push((line) => resolve(JSON.parse(line)))),
      exited.then(() => {
        throw new Error(`the Python server exited: ${stderr}`);
      }),
    ]);
  const hello = (await next()) as { port: number; pid: number };
  return {
    child,
    port: hello.port,
    pid: hello.pid,
    exited,
    report: async () => {
      const answer = next();
      child.stdin.write('report\n');
      return ((await answer) as { received: number[][] }).received;
    },
    reset: async () => {
      const answer = next();
      child.stdin.write('reset\n');
      await answer;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits until the server has received `total` datagrams (or `timeoutMs` passed) and returns its report. */
export async function receivedAll(server: UdpServer, total: number, timeoutMs = 5000): Promise<number[][]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const received = await server.report();
    if (received.flat().length >= total || Date.now() > deadline) return received;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Loopback UDP flows: one socket per flow, each on its own source port, kept for the whole test. */
export class Flows {
  readonly sockets: Socket[] = [];

  static async open(count: number): Promise<Flows> {
    const flows = new Flows();
    for (let i = 0; i < count; i++) {
      const socket = createSocket('udp4');
      flows.sockets.push(socket);
      await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    }
    return flows;
  }

  /** Sends datagram `seq` (its first 4 bytes, big-endian) from flow `seq % flows`. */
  send(port: number, seq: number): Promise<void> {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(seq, 0);
    const socket = this.sockets[seq % this.sockets.length] as Socket;
    return new Promise((resolve, reject) => socket.send(payload, port, '127.0.0.1', (error) => (error ? reject(error) : resolve())));
  }

  close(): void {
    for (const socket of this.sockets) socket.close();
  }
}
