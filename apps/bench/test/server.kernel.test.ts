import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { KvServerProcessError, startKvServerProcess, type KvServerProcess, type KvServerProcessOptions } from '../src/server/kv-server-process.js';
import { HEADER_BYTES, RequestType } from '../src/wire/request-header.js';
import { KvClient } from './support/kv-client.js';

/*
 * The key-value server as a process, on loopback: replies follow the wire format, the LMDB
 * store really stores, and a deployed policy's executor k is worker k. Datagrams go one at a
 * time (each waits for its reply), so which worker answers is decided by the policy alone.
 */

/** Ports of this file; each test takes its own so a slow teardown never meets the next test. */
let nextPort = 27_310 + (process.pid % 50) * 20;
const port = (): number => nextPort++;

const running: KvServerProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop().catch(() => undefined)));
});

/** The nice value of each named thread of `pid` (MainThread and the kv workers), from /proc/<pid>/task/<tid>/stat field 19. */
function threadNiceValues(pid: number): Record<string, number[]> {
  const byName: Record<string, number[]> = {};
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
    if (name !== 'MainThread' && !name.startsWith('kv-worker-')) continue;
    // Fields after the parenthesised command name, which may itself contain spaces.
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    (byName[name] ??= []).push(Number(fields[16]));
  }
  return byName;
}

/** futex(2)'s number, where a worker sleeping in a `block:` service time (Atomics.wait) sits. */
const FUTEX_SYSCALL = process.arch === 'arm64' ? 98 : 202;

/** The thread ids of `pid` whose name is `name`. */
function threadIds(pid: number, name: string): number[] {
  return readdirSync(`/proc/${pid}/task`)
    .filter((tid) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === name)
    .map(Number);
}

/** Spins until thread `tid` of `pid` is blocked in syscall `number` (/proc's syscall file), so the test acts within microseconds of it. */
async function waitForSyscall(pid: number, tid: number, number: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  const file = `/proc/${pid}/task/${tid}/syscall`;
  while (!readFileSync(file, 'utf8').startsWith(`${number} `)) {
    if (performance.now() > deadline) throw new Error(`thread ${tid} did not enter syscall ${number} within ${timeoutMs} ms`);
    // A turn of the event loop between reads, so the test's sockets are not starved meanwhile.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function start(options: KvServerProcessOptions): Promise<KvServerProcess> {
  const server = await startKvServerProcess(options);
  running.push(server);
  return server;
}

/** The initial value of `key`: its 8 big-endian bytes repeated to `size` bytes. */
function keyValue(key: bigint, size: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, key);
  return Uint8Array.from({ length: size }, (_, i) => bytes[i % 8] as number);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeKernel('kv-server', { needs: ['bpf', 'bpffs'] }, () => {
  it('answers GET, SCAN and PUT in the wire format in synthetic mode, one flow staying on one worker by default', async () => {
    const server = await start({ port: port(), threads: 3, get: 'cpu:5us', scan: 'block:1ms', put: 'cpu:exp:5us', valueSize: 20, scanLength: 42 });
    expect(server.ready).toMatchObject({ ready: true, pid: server.pid, threads: 3, policy: 'linux-default', deployment: null });
    expect(server.ready.mode).toBe('synthetic: GET cpu 5us, SCAN block 1ms, PUT cpu exp 5us');
    using client = new KvClient(server.ready.port);

    const get = await client.ask(RequestType.GET, 0x0102030405060708n, { user: 7 });
    expect(get.header).toMatchObject({ type: RequestType.GET, user: 7, requestId: 1n, key: 0x0102030405060708n });
    expect(get.value).toEqual(keyValue(0x0102030405060708n, 20));
    const scan = await client.ask(RequestType.SCAN, 5n);
    expect(scan.header).toMatchObject({ type: RequestType.SCAN, requestId: 2n, key: 5n });
    expect(scan.value.length).toBe(4);
    expect(new DataView(scan.value.buffer).getUint32(0)).toBe(42);
    const put = await client.ask(RequestType.PUT, 9n, { value: new Uint8Array([1, 2, 3]) });
    expect(put.header).toMatchObject({ type: RequestType.PUT, requestId: 3n, key: 9n });
    expect(put.value.length).toBe(0);

    // Linux's default for one flow is its hash: every request of this flow lands on one socket.
    const workers = new Set([get.worker, scan.worker, put.worker]);
    for (let i = 0; i < 12; i++) workers.add((await client.ask(RequestType.GET, BigInt(i))).worker);
    expect(workers.size).toBe(1);
    const [worker] = workers as unknown as [number];
    expect(worker).toBeGreaterThanOrEqual(0);
    expect(worker).toBeLessThan(3);

    const stopped = await server.stop();
    expect(stopped.byType).toEqual({ get: 13, scan: 1, put: 1 });
    expect(stopped.servedPerWorker.reduce((a, b) => a + b, 0)).toBe(15);
    expect(stopped.servedPerWorker[worker]).toBe(15);
  });

  it('serves a real LMDB store: preloaded GETs, SCANs over the key range, a PUT that a GET on another worker sees', async () => {
    const server = await start({ port: port(), threads: 3, store: 'lmdb', keys: 500, valueSize: 12, scanLength: 10, policy: 'round-robin' });
    expect(server.ready.mode).toBe('lmdb: 500 keys of 12 bytes, SCAN 10 keys');
    using client = new KvClient(server.ready.port);

    expect((await client.ask(RequestType.GET, 321n)).value).toEqual(keyValue(321n, 12));
    expect((await client.ask(RequestType.GET, 500n)).value.length).toBe(0);
    const scanCount = async (key: bigint): Promise<number> => new DataView((await client.ask(RequestType.SCAN, key)).value.buffer).getUint32(0);
    expect(await scanCount(0n)).toBe(10);
    expect(await scanCount(495n)).toBe(5);
    expect(await scanCount(600n)).toBe(0);

    const value = new TextEncoder().encode('a new value for key 7');
    const put = await client.ask(RequestType.PUT, 7n, { value });
    const after = await client.ask(RequestType.GET, 7n);
    // Round robin: the GET is served by the next worker, so the write crossed threads through LMDB.
    expect(after.worker).toBe((put.worker + 1) % 3);
    expect(after.value).toEqual(value);
    const fresh = await client.ask(RequestType.PUT, 100_000n, { value: new Uint8Array([9]) });
    expect(fresh.value.length).toBe(0);
    expect((await client.ask(RequestType.GET, 100_000n)).value).toEqual(new Uint8Array([9]));

    const stopped = await server.stop();
    expect(stopped.byType).toEqual({ get: 4, scan: 3, put: 2 });
  });

  it('under sita, executor k is worker k: SCANs on worker 0, GETs round robin over workers 1 to N-1', async () => {
    const server = await start({ port: port(), threads: 4, policy: 'sita', get: 'none', scan: 'none', put: 'none' });
    expect(server.ready.policy).toBe('sita');
    expect(server.ready.deployment).toMatch(/\S/);
    using client = new KvClient(server.ready.port);
    const getWorkers: number[] = [];
    for (let i = 0; i < 9; i++) {
      getWorkers.push((await client.ask(RequestType.GET, BigInt(i))).worker);
      expect((await client.ask(RequestType.SCAN, BigInt(i))).worker).toBe(0);
    }
    const first = getWorkers[0] as number;
    expect(first).toBeGreaterThanOrEqual(1);
    expect(getWorkers).toEqual(getWorkers.map((_, i) => 1 + ((first - 1 + i) % 3)));
    const stopped = await server.stop();
    expect(stopped.servedPerWorker).toEqual([9, 3, 3, 3]);
  });

  it('under round-robin, successive GETs of one flow visit every worker in turn', async () => {
    const server = await start({ port: port(), threads: 4, policy: 'round-robin', get: 'none' });
    using client = new KvClient(server.ready.port);
    const workers: number[] = [];
    for (let i = 0; i < 8; i++) workers.push((await client.ask(RequestType.GET, 1n)).worker);
    const first = workers[0] as number;
    expect(workers).toEqual(workers.map((_, i) => (first + i) % 4));
  });

  it('under key-hash, a key always meets the same worker and keys spread over the workers', async () => {
    const server = await start({ port: port(), threads: 3, policy: 'key-hash', get: 'none', put: 'none' });
    using client = new KvClient(server.ready.port);
    const home = new Map<bigint, number>();
    for (let key = 0n; key < 24n; key++) home.set(key, (await client.ask(RequestType.GET, key)).worker);
    for (let key = 0n; key < 24n; key++) expect((await client.ask(RequestType.PUT, key)).worker).toBe(home.get(key));
    expect(new Set(home.values()).size).toBe(3);
  });

  it('deploys a policy file by path, with SOCKETS defaulting to --threads and --param overriding params', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kv-server-test-'));
    try {
      const file = join(dir, 'pick.ts');
      writeFileSync(
        file,
        [
          "import { definePolicy } from '@syrup/core';",
          '/** The last socket, or socket PICK when it is set below SOCKETS. */',
          'export default definePolicy({',
          "  name: 'pick',",
          "  input: 'udp',",
          '  params: { SOCKETS: 6, PICK: 99 },',
          '  schedule(_pkt, _maps, { SOCKETS, PICK }) {',
          '    return PICK < SOCKETS ? PICK : SOCKETS - 1;',
          '  },',
          '});',
          '',
        ].join('\n'),
      );
      const last = await start({ port: port(), threads: 3, policy: file, get: 'none' });
      expect(last.ready.policy).toBe(file);
      using client = new KvClient(last.ready.port);
      for (let i = 0; i < 4; i++) expect((await client.ask(RequestType.GET, BigInt(i))).worker).toBe(2);
      await last.stop();
      const picked = await start({ port: port(), threads: 3, policy: file, get: 'none', params: { PICK: 1 } });
      using other = new KvClient(picked.ready.port);
      for (let i = 0; i < 4; i++) expect((await other.ask(RequestType.GET, BigInt(i))).worker).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('under scan-avoid, GETs stay off the worker that is serving a SCAN, which the tracker marks and clears', async () => {
    // The SCAN blocks for seconds, so the marking (microseconds) is long done when the GETs are sent.
    const server = await start({ port: port(), threads: 3, policy: 'scan-avoid', get: 'none', scan: 'block:3s' });
    using scanner = new KvClient(server.ready.port);
    using client = new KvClient(server.ready.port);
    const scan = scanner.ask(RequestType.SCAN, 1n);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const during: number[] = [];
    for (let i = 0; i < 6; i++) during.push((await client.ask(RequestType.GET, BigInt(i))).worker);
    const scanWorker = (await scan).worker;
    expect(scanWorker).toBe(0);
    expect(during).not.toContain(0);
    expect(new Set(during)).toEqual(new Set([1, 2]));
    // Cleared after the SCAN: the round robin reaches worker 0 again.
    const after = new Set<number>();
    for (let i = 0; i < 6; i++) after.add((await client.ask(RequestType.GET, BigInt(i))).worker);
    expect(after).toEqual(new Set([0, 1, 2]));
    const stopped = await server.stop();
    expect(stopped.byType.scan).toBe(1);
  });

  it('under scan-avoid, a GET sent the moment a worker starts serving a SCAN is already steered away from it', async () => {
    // The worker marks before its service time begins, so once its thread sleeps in the SCAN's
    // `block:` wait (a futex, seen in /proc) the mark must be in the kernel map: no window remains
    // in which the policy still sees the socket idle. Three SCANs, each followed at once by GETs.
    const server = await start({ port: port(), threads: 2, policy: 'scan-avoid', get: 'none', scan: 'block:300ms' });
    const worker0 = threadIds(server.ready.pid, 'kv-worker-0');
    expect(worker0).toHaveLength(1);
    using scanner = new KvClient(server.ready.port);
    using client = new KvClient(server.ready.port);
    for (let round = 0; round < 3; round++) {
      const scan = scanner.ask(RequestType.SCAN, BigInt(round));
      await waitForSyscall(server.ready.pid, worker0[0] as number, FUTEX_SYSCALL, 2000);
      // Round robin over two sockets: without the mark, one of two consecutive GETs would land on 0.
      const during = [(await client.ask(RequestType.GET, 1n)).worker, (await client.ask(RequestType.GET, 2n)).worker];
      expect((await scan).worker).toBe(0);
      expect(during).toEqual([1, 1]);
    }
    const stopped = await server.stop();
    expect(stopped.byType.scan).toBe(3);
  });

  it('under token-qos, users with refilled buckets are served and a user without one is dropped', async () => {
    const server = await start({ port: port(), threads: 2, policy: 'token-qos', get: 'none', tokenRate: 2000, lsUser: 1, beUsers: [2] });
    using client = new KvClient(server.ready.port);
    expect(await client.request(RequestType.GET, 1n, { user: 1 })).toBeDefined();
    expect(await client.request(RequestType.GET, 1n, { user: 2 })).toBeDefined();
    expect(await client.request(RequestType.GET, 1n, { user: 3, timeoutMs: 300 })).toBeUndefined();
    // The refiller's thread (the main thread) yields to the workers: nice 19 against their 0.
    expect(threadNiceValues(server.ready.pid)).toEqual({ MainThread: [19], 'kv-worker-0': [0], 'kv-worker-1': [0] });
    const stopped = await server.stop();
    expect(stopped.byType.get).toBe(2);
    expect(stopped.tokensGranted?.latencySensitive).toBeGreaterThan(0);
  });

  it('stops on SIGTERM with no process left and default scheduling back on the port', async () => {
    const serverPort = port();
    const server = await start({ port: serverPort, threads: 3, policy: 'round-robin', get: 'none' });
    const stopped = await server.stop();
    expect(stopped.stopped).toBe(true);
    expect(processAlive(server.pid)).toBe(false);

    // A new plain SO_REUSEPORT group on the port: one flow sticks to one socket (Linux's hash), where round robin would spread it.
    const sockets = await Promise.all(
      [0, 1, 2].map(async () => {
        const socket = dgram.createSocket({ type: 'udp4', reusePort: true });
        await new Promise<void>((resolve) => socket.bind(serverPort, '127.0.0.1', resolve));
        return socket;
      }),
    );
    const sender = dgram.createSocket('udp4');
    try {
      const received = new Map<number, number>();
      let total = 0;
      const all = new Promise<void>((resolve) =>
        sockets.forEach((socket, k) =>
          socket.on('message', () => {
            received.set(k, (received.get(k) ?? 0) + 1);
            if (++total === 12) resolve();
          }),
        ),
      );
      for (let i = 0; i < 12; i++) sender.send(new Uint8Array(HEADER_BYTES), serverPort, '127.0.0.1');
      await all;
      expect(received.size).toBe(1);
    } finally {
      sender.close();
      for (const socket of sockets) socket.close();
    }
  });

  it('refuses a bad service time with exit code 2 and one sentence, leaving nothing behind', async () => {
    const attempt = startKvServerProcess({ port: port(), threads: 2, get: 'cpu:10 parsecs', policy: 'sita' });
    const error = (await attempt.catch((e: unknown) => e)) as KvServerProcessError;
    expect(error).toBeInstanceOf(KvServerProcessError);
    expect(error.exitCode).toBe(2);
    expect(error.stderr).toHaveLength(1);
    expect(error.stderr[0]).toMatch(/^kv-server: --get 'cpu:10 parsecs' is not a service time: .*\.$/);
  });

  it('refuses an unknown flag, an unknown policy and token-qos without a refill rate, each with exit code 2', async () => {
    for (const options of [
      { port: port(), threads: 0 },
      { port: port(), policy: 'fastest' },
      { port: port(), policy: 'token-qos' },
    ] satisfies KvServerProcessOptions[]) {
      const error = (await startKvServerProcess(options).catch((e: unknown) => e)) as KvServerProcessError;
      expect(error).toBeInstanceOf(KvServerProcessError);
      expect(error.exitCode).toBe(2);
      expect(error.stderr).toHaveLength(1);
    }
  });

  it.skipIf(!existsSync('/usr/bin/setpriv'))('refuses to deploy a policy without privileges: exit code 2 and one sentence', async () => {
    // The server as user nobody with no capabilities: it can bind, but bpf() is refused.
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const entry = fileURLToPath(new URL('../src/server/kv-server-main.ts', import.meta.url));
    const child = spawn(
      'setpriv',
      ['--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--conditions=source', '--import', tsx, entry, '--port', String(port()), '--threads', '2', '--policy', 'sita'],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TSX_TSCONFIG_PATH: fileURLToPath(new URL('../tsconfig.tsx.json', import.meta.url)) } },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/^kv-server: .*(EPERM|CAP_BPF|privilege).*\.\n$/);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
