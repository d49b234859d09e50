import { readFileSync } from 'node:fs';
import { standardPolicyPath } from '@syrup/policies-std';
import { connect, type SyrupClient } from '@syrup/runtime';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterEach, expect, it } from 'vitest';
// The thread backend's own GET/SCAN fixture and sched_* calls (test code of a sibling package).
import { SchedPolicy, SchedSyscalls, type ThreadSchedule } from '../../../packages/backend-ghost/src/linux/sched-syscalls.js';
import { startServer, type ServerProcess } from '../../../packages/backend-ghost/test/support/server-process.js';
import { daemonFiles, runDaemon, type DaemonFiles, type DaemonRun } from './support/restartable-daemon.js';
import { udpServer } from './support/udp-flows.js';

const CPU = 1;
const sched = new SchedSyscalls();

/** get-priority over registered threads: workerOf holds a worker's number plus one, so unregistered threads (0) stay with the kernel. */
const POLICY = `
import { definePolicy, DROP, PASS, ThreadEvent } from '@syrup/core';
export default definePolicy({
  name: 'get-priority-registered',
  input: 'thread',
  maps: {
    busy: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 16 },
    workerOf: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 1024 },
  },
  params: {},
  schedule(t, { busy, workerOf }) {
    const worker = workerOf.get(t.tid);
    if (worker === 0 || t.event === ThreadEvent.BLOCKED) return PASS;
    return busy.get(worker - 1) !== 0 ? DROP : 0;
  },
});
`;

const comparable = (s: ThreadSchedule) => ({ policy: s.policy, priority: s.priority, nice: s.nice, cpus: s.cpus });
const schedules = (tids: readonly number[]) => tids.map((tid) => comparable(sched.read(tid)));

async function until(what: string, check: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) {
    try {
      await step();
    } catch {
      // keep cleaning up
    }
  }
});

async function setup(): Promise<{ files: DaemonFiles; daemon: DaemonRun; client: SyrupClient; server: ServerProcess; threads: number[] }> {
  const files = daemonFiles();
  cleanup.push(() => files.remove());
  const daemon = await runDaemon(files, ['--thread-cpus', String(CPU)]);
  cleanup.push(() => daemon.kill('SIGKILL'));
  const server = await startServer(CPU);
  cleanup.push(() => server[Symbol.asyncDispose]());
  const client = await connect({ socketPath: files.socketPath });
  cleanup.push(() => client.close());
  return { files, daemon, client, server, threads: [...server.scan, server.get] };
}

/** Deploys the policy on the server's process and registers its workers: SCANs busy. */
async function deployOn(client: SyrupClient, server: ServerProcess) {
  const deployment = await client.deploy({ fileName: 'get-priority.ts', text: POLICY }, { hook: 'thread', pid: server.pid });
  for (const [i, tid] of server.scan.entries()) {
    await deployment.maps['workerOf']?.set(tid, BigInt(i + 2));
    await deployment.maps['busy']?.set(i + 1, 1n);
  }
  await deployment.maps['workerOf']?.set(server.get, 1n);
  await until('the SCAN threads are deferred', () => server.scan.every((tid) => sched.read(tid).policy === SchedPolicy.IDLE), 10_000);
  return deployment;
}

describeKernel('syrupd: the thread hook', { needs: ['root', 'bpf', 'raw-tracepoint', 'sched-fifo'] }, () => {
  it('deploys with --hook thread --pid on the daemon\'s --thread-cpus, and gives every thread back within 1 s of undeploy', async () => {
    const { client, server, threads } = await setup();
    const before = schedules(threads);
    const deployment = await deployOn(client, server);
    const listed = await client.deployments();
    expect(listed.map((d) => [d.hook, d.policy])).toEqual([['thread', 'get-priority-registered']]);
    const undeployedAt = Date.now();
    await deployment.undeploy();
    await until('every thread has its scheduling back', () => JSON.stringify(schedules(threads)) === JSON.stringify(before), 1000);
    expect(Date.now() - undeployedAt).toBeLessThan(1000);
  });

  it('gives every managed thread back within 1 s when the daemon is SIGKILLed', async () => {
    const { daemon, client, server, threads } = await setup();
    const before = schedules(threads);
    await deployOn(client, server);
    expect(await daemon.kill('SIGKILL')).not.toBe(0);
    const killedAt = Date.now();
    await until('every thread has its scheduling back', () => JSON.stringify(schedules(threads)) === JSON.stringify(before), 1000);
    expect(Date.now() - killedAt).toBeLessThan(1000);
  });

  it('shares busy between scan-avoid at socket-select and get-priority at the thread hook: a SCAN marked through the socket layer defers its worker thread', async () => {
    const { client, server } = await setup();
    const sockets = await udpServer(2);
    cleanup.push(() => sockets.kill());
    const socketLayer = await client.deploy(
      { fileName: 'scan-avoid.ts', text: readFileSync(standardPolicyPath('scan-avoid'), 'utf8') },
      { hook: 'socket-select', port: sockets.port, pid: sockets.pid, params: { SOCKETS: 2 }, shareMaps: ['busy'] },
    );
    const threadLayer = await client.deploy({ fileName: 'get-priority.ts', text: readFileSync(standardPolicyPath('get-priority'), 'utf8') }, { hook: 'thread', pid: server.pid, shareMaps: ['busy'] });
    // The GET thread serves socket 1 (workerOf holds the index plus one).
    await threadLayer.maps['workerOf']?.set(server.get, 2n);
    await socketLayer.maps['busy']?.set(1, 1n); // the socket layer's view: socket 1 serves a SCAN
    expect(await threadLayer.maps['busy']?.get(1)).toBe(1n);
    await server.request();
    await until('the GET thread, whose socket serves a SCAN, is deferred', () => sched.read(server.get).policy === SchedPolicy.IDLE, 3000);
    await socketLayer.maps['busy']?.set(1, 0n);
    await server.request();
    await until('the GET thread runs ahead again once its socket is free', () => sched.read(server.get).policy === SchedPolicy.FIFO, 3000);
  });
});
