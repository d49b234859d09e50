import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { text } from 'node:stream/consumers';
import { afterEach, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { keyHome } from '../src/mica/key-home.js';
import type { MicaStoppedLine } from '../src/mica/mica-server.js';
import { BenchNamespaces } from '../src/runner/bench-namespaces.js';
import { runLoadgenProcess } from '../src/runner/loadgen-process.js';
import { XskSocketGroup } from '@syrup/backend-ebpf/xsk';
import { exited, spawnTypeScript, stderrTail } from '../src/runner/typescript-child.js';

/*
 * The MICA-style server over AF_XDP on a veth pair the test makes (as the runner would): two
 * worker threads, each with its own AF_XDP socket on queue 0's shared UMEM and its own
 * partition of the keys, the policy at xdp-drv; a client in the peer namespace.
 */

const SERVER = new URL('../src/mica/mica-server-main.ts', import.meta.url);
const CLIENT = fileURLToPath(new URL('./support/mica-client.mjs', import.meta.url));
const THREADS = 2;
const KEYS = 1000;
const REQUESTS = 2000;

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface ClientReport {
  readonly replies: Array<[id: number, key: number, worker: number, type: number]>;
  readonly duplicates: number[];
  readonly missing: number[];
}

interface RunningMica {
  readonly namespaces: BenchNamespaces;
  readonly port: number;
  /** SIGTERM, then the server's stopped line. */
  stop(): Promise<MicaStoppedLine>;
}

async function startMica(mode: 'key-hash' | 'handoff'): Promise<RunningMica> {
  const namespaces = BenchNamespaces.create();
  cleanups.push(() => namespaces.close());
  const port = 47_000 + (process.pid % 1000);
  const server = spawnTypeScript(SERVER, ['--interface', namespaces.serverInterface, '--port', String(port), '--threads', String(THREADS), '--mode', mode, '--keys', String(KEYS), '--frames', '1024'], {
    netns: namespaces.serverNamespace,
  });
  cleanups.push(async () => {
    server.kill('SIGKILL');
    await exited(server);
  });
  const lines = createInterface({ input: server.stdout! })[Symbol.asyncIterator]();
  const ready = await lines.next();
  if (ready.done === true) throw new Error(`the MICA server did not start:\n${stderrTail(server)}`);
  expect(JSON.parse(ready.value)).toMatchObject({ ready: true, threads: THREADS, mode, policy: mode === 'key-hash' ? 'key-hash' : 'round-robin' });
  // Driver mode (XDP_ATTACHED_DRV = 1), which loopback cannot do: the reason for the veth pair.
  expect(xdpMode(namespaces.serverNamespace, namespaces.serverInterface)).toBe(1);
  return {
    namespaces,
    port,
    stop: async () => {
      server.kill('SIGTERM');
      const stopped = await lines.next();
      if (stopped.done === true) throw new Error(`the MICA server printed no stopped line:\n${stderrTail(server)}`);
      return JSON.parse(stopped.value) as MicaStoppedLine;
    },
  };
}

/** The XDP attach mode `ip` reports for an interface (1 driver, 2 generic), or undefined when none is attached. */
function xdpMode(namespace: string, ifname: string): number | undefined {
  const [link] = JSON.parse(execFileSync('ip', ['-n', namespace, '-j', 'link', 'show', ifname], { encoding: 'utf8' })) as { xdp?: { mode: number } }[];
  return link?.xdp?.mode;
}

async function serveAndAsk(mode: 'key-hash' | 'handoff'): Promise<{ client: ClientReport; stopped: MicaStoppedLine }> {
  const { namespaces, port, stop } = await startMica(mode);
  const client = spawn('ip', ['netns', 'exec', namespaces.loadgenNamespace, process.execPath, CLIENT, namespaces.serverAddress, String(port), String(REQUESTS), String(KEYS)], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(async () => {
    client.kill('SIGKILL');
    await exited(client);
  });
  const report = JSON.parse(await text(client.stdout!)) as ClientReport;
  return { client: report, stopped: await stop() };
}

const sum = (stopped: MicaStoppedLine, counter: keyof MicaStoppedLine['perWorker'][number]): number => stopped.perWorker.reduce((s, w) => s + w[counter], 0);

describeKernel('MICA-style server over AF_XDP', { needs: ['bpf', 'netns', 'xdp-driver', 'af-xdp'] }, () => {
  it("under key-hash at xdp-drv, every request's reply comes from its key's home thread, with no handoff", async () => {
    const { client, stopped } = await serveAndAsk('key-hash');
    expect(client.missing).toEqual([]);
    expect(client.duplicates).toEqual([]);
    expect(client.replies).toHaveLength(REQUESTS);
    for (const [, key, worker] of client.replies) expect(worker).toBe(keyHome(BigInt(key), THREADS));
    // Both partitions served, and each only its own keys.
    expect(new Set(client.replies.map(([, , worker]) => worker))).toEqual(new Set([0, 1]));
    expect(sum(stopped, 'HANDED_OFF')).toBe(0);
    expect(sum(stopped, 'SERVED_AWAY_FROM_HOME')).toBe(0);
    expect(sum(stopped, 'SERVED')).toBe(REQUESTS);
  }, 120_000);

  it('under round-robin with handoff, every request is served exactly once, by its home thread', async () => {
    const { client, stopped } = await serveAndAsk('handoff');
    expect(client.missing).toEqual([]);
    expect(client.duplicates).toEqual([]);
    expect(client.replies).toHaveLength(REQUESTS);
    for (const [, key, worker] of client.replies) expect(worker).toBe(keyHome(BigInt(key), THREADS));
    // Round robin spreads the requests without regard to the key: about half land away from home and are handed off.
    const handedOff = sum(stopped, 'HANDED_OFF');
    expect(handedOff).toBeGreaterThan(REQUESTS / 4);
    expect(sum(stopped, 'SERVED_FOR_OTHERS')).toBe(handedOff);
    expect(stopped.perWorker.every((w) => w.RECEIVED > REQUESTS / 4)).toBe(true);
    expect(sum(stopped, 'SERVED')).toBe(REQUESTS);
    expect(sum(stopped, 'SERVED_AWAY_FROM_HOME')).toBe(0);
    expect(sum(stopped, 'DROPPED')).toBe(0);
    expect(Math.max(...stopped.perWorker.map((w) => w.handoffHighWater))).toBeGreaterThan(0);
  }, 120_000);

  it('answers every request of an AF_XDP load generator run, which steers the replies to its own socket and detaches after', async () => {
    const { namespaces, port, stop } = await startMica('handoff');
    const report = await runLoadgenProcess(
      ['--host', namespaces.serverAddress, '--port', String(port), '--transport', 'af-xdp', '--rate', '20000', '--duration', '1', '--warmup', '0.2', '--flows', '4', '--mix', 'get=0.5,put=0.5', '--keys', String(KEYS), '--grace', '2000', '--no-pin'],
      undefined,
      { netns: namespaces.loadgenNamespace },
    );
    const stopped = await stop();
    expect(report).toMatchObject({ transport: 'af-xdp', transportDrops: 0, dropped: 0, sendFailures: 0, strayReplies: 0, aborted: false });
    expect(report.sent).toBeGreaterThan(10_000);
    expect(report.received).toBe(report.sent);
    // Every request the generator sent (warm-up included) was served once, and its reply came back through the generator's socket.
    const replies = report.repliesPerWorker.reduce((s, n) => s + n, 0);
    expect(sum(stopped, 'SERVED')).toBe(replies);
    expect(report.repliesPerWorker.slice(0, THREADS).every((n) => n > replies / 4)).toBe(true);
    expect(sum(stopped, 'DROPPED')).toBe(0);
    // The generator's program left with its process: the interface is as the runner made it.
    expect(xdpMode(namespaces.loadgenNamespace, namespaces.loadgenInterface)).toBeUndefined();
  }, 120_000);

  it('refuses, in one sentence, an AF_XDP load generator run on a queue another socket holds, and leaves the interface as it was', async () => {
    const namespaces = BenchNamespaces.create();
    cleanups.push(() => namespaces.close());
    const holder = await XskSocketGroup.open({ ifname: namespaces.loadgenInterface, netns: namespaces.loadgenNamespace, count: 1, frameCount: 64, fillRingSize: 64, completionRingSize: 64, rxRingSize: 64, txRingSize: 64 });
    cleanups.push(() => holder.close());
    const refusal = await runLoadgenProcess(['--host', namespaces.serverAddress, '--port', '9', '--transport', 'af-xdp', '--rate', '1000', '--duration', '1', '--no-pin'], undefined, { netns: namespaces.loadgenNamespace }).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    const [exit, ...stderr] = refusal?.message.split('\n') ?? [];
    expect(exit).toMatch(/^the load generator exited with 2 /);
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toMatch(/^loadgen: ifindex \d+ queue 0 already has an AF_XDP UMEM bound /);
    expect(xdpMode(namespaces.loadgenNamespace, namespaces.loadgenInterface)).toBeUndefined();
  }, 60_000);

  it('refuses an interface that does not exist, or a bad mode, with exit code 2 and one sentence', async () => {
    for (const [args, sentence] of [
      [['--interface', 'nosuchif0', '--port', '9000'], "mica-server: there is no network interface 'nosuchif0' in this network namespace."],
      [['--interface', 'lo', '--port', '9000', '--mode', 'fast'], 'mica-server: --mode must be key-hash or handoff, not "fast".'],
    ] as const) {
      const child = spawnTypeScript(SERVER, args);
      const output = text(child.stdout!);
      // 'close', not 'exit': every line of stderr has been read by then.
      await once(child, 'close');
      expect(child.exitCode).toBe(2);
      expect(await output).toBe('');
      expect(stderrTail(child)).toBe(sentence);
    }
  }, 60_000);
});
