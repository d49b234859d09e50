import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, expect, it } from 'vitest';
import { startServerProcess, type ServerProcess } from '../src/runner/server-process.js';
import { kvServerArgs } from '../src/server/kv-server-options.js';
import type { ReadyLine, StoppedLine } from '../src/server/server-lines.js';
import { AGENT_FIFO_PRIORITY } from '../src/server/thread-policy.js';
import { RequestType } from '../src/wire/request-header.js';
import { KvClient, type Reply } from './support/kv-client.js';

/*
 * The kv-server with get-priority at the thread hook, its agent in the server process on the
 * server's one CPU (CPU 0, as the experiment runner confines it): a worker serving a CPU-bound
 * SCAN is deferred (SCHED_IDLE) while the others run ahead of it (SCHED_FIFO), and is run
 * ahead again once the SCAN is over. States are read from /proc, waiting until they hold.
 */

const SERVER_CPU = '0';
const KEY_PICKS_WORKER = fileURLToPath(new URL('./fixtures/key-picks-worker.ts', import.meta.url));
/** sched.h's policies, as /proc's stat reports them. */
const SCHED_OTHER = 0;
const SCHED_FIFO = 1;
const SCHED_IDLE = 5;

let nextPort = 28_410 + (process.pid % 50) * 10;
const running: ServerProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.stop().catch(() => undefined)));
});

/** Two workers; the request's key picks its worker; a SCAN spins for 1.5 s on the CPU. */
async function start(threadPolicy?: string): Promise<ServerProcess> {
  const args = kvServerArgs({ port: nextPort++, threads: 2, get: 'cpu:10us', scan: 'cpu:1500ms', policy: KEY_PICKS_WORKER, ...(threadPolicy === undefined ? {} : { threadPolicy }) });
  const server = await startServerProcess<ReadyLine, StoppedLine>(args, SERVER_CPU);
  running.push(server);
  return server;
}

/** A thread's state letter, scheduling policy and real-time priority (/proc/<pid>/task/<tid>/stat fields 3, 41, 40). */
function threadSchedule(pid: number, tid: number): { state: string; policy: number; priority: number } {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] as string, policy: Number(fields[38]), priority: Number(fields[37]) };
}

function workerTid(pid: number, index: number): number {
  const tid = readdirSync(`/proc/${pid}/task`).find((t) => readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim() === `kv-worker-${index}`);
  if (tid === undefined) throw new Error(`process ${pid} has no thread kv-worker-${index}`);
  return Number(tid);
}

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Sends a SCAN on its own flow and tracks whether its reply has come. */
function scanInFlight(port: number, key: bigint): { replied: () => boolean; reply: Promise<Reply>; client: KvClient } {
  const client = new KvClient(port);
  let done = false;
  const reply = client.ask(RequestType.SCAN, key).finally(() => (done = true));
  return { replied: () => done, reply, client };
}

describeKernel('kv-server with get-priority at the thread hook', { needs: ['bpf', 'btf', 'raw-tracepoint', 'sched-fifo'] }, () => {
  it('defers the worker serving a SCAN while the other runs ahead of it, and runs it ahead again after the SCAN', async () => {
    const server = await start('get-priority');
    const { pid } = server;
    expect(server.ready).toMatchObject({ threadPolicy: 'get-priority', threads: 2 });
    expect(server.ready.threadDeployment).toEqual(expect.any(String));
    // The agent: the main thread and the readiness thread, both above the workers.
    expect(server.ready.agentTids).toHaveLength(2);
    expect(server.ready.agentTids?.[0]).toBe(pid);
    for (const tid of server.ready.agentTids ?? []) expect(threadSchedule(pid, tid)).toMatchObject({ policy: SCHED_FIFO, priority: AGENT_FIFO_PRIORITY });
    const [worker0, worker1] = [workerTid(pid, 0), workerTid(pid, 1)];
    using gets = new KvClient(server.ready.port);

    // A GET wakes each worker: get-priority runs it ahead (SCHED_FIFO on the enclave's first CPU).
    expect((await gets.ask(RequestType.GET, 0n)).worker).toBe(0);
    expect((await gets.ask(RequestType.GET, 1n)).worker).toBe(1);
    await until('both workers run at SCHED_FIFO', () => threadSchedule(pid, worker0).policy === SCHED_FIFO && threadSchedule(pid, worker1).policy === SCHED_FIFO);

    // Worker 0 takes a SCAN: while it serves it, it is deferred.
    const scan = scanInFlight(server.ready.port, 2n);
    try {
      await until('the worker serving the SCAN is deferred (SCHED_IDLE)', () => threadSchedule(pid, worker0).policy === SCHED_IDLE);
      expect(scan.replied()).toBe(false);
      // A GET to the other worker is answered while the SCAN is still being served; that worker stays ahead.
      expect((await gets.ask(RequestType.GET, 3n)).worker).toBe(1);
      expect(scan.replied()).toBe(false);
      expect(threadSchedule(pid, worker1).policy).toBe(SCHED_FIFO);
      expect(threadSchedule(pid, worker0).policy).toBe(SCHED_IDLE);
      expect((await scan.reply).worker).toBe(0);
    } finally {
      scan.client.close();
    }

    // The SCAN is over: worker 0's next wakeup runs it ahead again.
    expect((await gets.ask(RequestType.GET, 4n)).worker).toBe(0);
    await until('the worker is run ahead again after its SCAN', () => threadSchedule(pid, worker0).policy === SCHED_FIFO);

    const stopped = await server.stop();
    expect(stopped?.byType).toEqual({ get: 4, scan: 1, put: 0 });
  });

  it('without a thread policy, a worker serving a SCAN keeps its normal scheduling (the control)', async () => {
    const server = await start();
    const { pid } = server;
    expect(server.ready.agentTids).toBeUndefined();
    const worker0 = workerTid(pid, 0);
    const scan = scanInFlight(server.ready.port, 0n);
    try {
      await until('the worker serves the SCAN (running)', () => threadSchedule(pid, worker0).state === 'R');
      expect(scan.replied()).toBe(false);
      expect(threadSchedule(pid, worker0).policy).toBe(SCHED_OTHER);
      expect((await scan.reply).worker).toBe(0);
    } finally {
      scan.client.close();
    }
  });
});
