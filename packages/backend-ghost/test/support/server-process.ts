import { spawn, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';

export interface ServerProcess extends AsyncDisposable {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly scan: readonly number[];
  readonly get: number;
  readonly port: number;
  /** Sends one datagram to the GET thread and returns how far each SCAN got while the GET worked. */
  request(): Promise<{ scanProgress: number[]; wokeNs: bigint }>;
}

const FIXTURE = fileURLToPath(new URL('../fixtures/get-scan-server.mjs', import.meta.url));

/** Starts the GET/SCAN fixture with every thread pinned to `cpu` (taskset), and waits until its workers run; the GET works `spinMs` per request. */
export async function startServer(cpu: number, scans = 2, spinMs = 20): Promise<ServerProcess> {
  const child = spawn('taskset', ['-c', String(cpu), process.execPath, FIXTURE], { env: { ...process.env, SCANS: String(scans), SPIN_MS: String(spinMs) }, stdio: ['ignore', 'pipe', 'inherit'] });
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      const timer = setTimeout(() => reject(new Error('the GET/SCAN fixture did not start within 20 s')), 20_000);
      child.stdout?.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const end = text.indexOf('\n');
        if (end >= 0) {
          clearTimeout(timer);
          resolve(text.slice(0, end));
        }
      });
      child.once('exit', (code) => reject(new Error(`the GET/SCAN fixture exited with ${String(code)}`)));
    });
    const ready = JSON.parse(line) as { scan: number[]; get: number; port: number };
    const client = dgram.createSocket('udp4');
    let disposed = false;
    await new Promise<void>((resolve) => client.bind(0, '127.0.0.1', resolve));
    return {
      child,
      pid: child.pid as number,
      ...ready,
      request: () =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no reply from the GET thread within 10 s')), 10_000);
          client.once('message', (data) => {
            clearTimeout(timer);
            const reply = JSON.parse(data.toString()) as { before: string[]; after: string[]; woke: string };
            resolve({ scanProgress: reply.after.map((a, i) => Number(BigInt(a) - BigInt(reply.before[i] as string))), wokeNs: BigInt(reply.woke) });
          });
          client.send('GET', ready.port, '127.0.0.1');
        }),
      [Symbol.asyncDispose]: async () => {
        if (disposed) return;
        disposed = true;
        client.close();
        await kill();
      },
    };
  } catch (error) {
    await kill();
    throw error;
  }
}

/**
 * True when the SCAN threads got less than a tenth of what they got under the kernel's
 * scheduler alone while the GET worked: the GET ran ahead of them. Not zero: the kernel's fair
 * server (and RT throttling) lend fair-class threads, SCHED_IDLE ones included, a few percent
 * of a CPU that SCHED_FIFO holds, so an occasional millisecond of SCAN is the kernel's choice.
 */
export function ranAhead(withPolicy: readonly number[], kernelAlone: readonly number[]): boolean {
  const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
  return sum(withPolicy) * 10 < sum(kernelAlone);
}
