import { readdirSync, readFileSync } from 'node:fs';
import { STANDARD_HOOKS, compilePolicy } from '@syrup/core';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { isKernelObject, openFds } from '@syrup/test-support/open-fds';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { GhostBackend } from '../src/ghost-backend.js';
import { SchedPolicy, SchedSyscalls } from '../src/linux/sched-syscalls.js';
import { ranAhead, startServer } from './support/server-process.js';

const CPU = 1;
const sched = new SchedSyscalls();

/** get-priority over registered threads only: workerOf holds a worker's number plus one, so an unregistered thread (0) is left to the kernel. */
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

/** This process's fds on kernel objects and pidfds: what a deployment opens (node's own lazily made fds are not counted). */
const deploymentFds = (): string[] =>
  openFds()
    .map(({ target }) => target)
    .filter((target) => isKernelObject(target) || target.includes('pidfd'))
    .sort();

/** Live child processes of this process (the keeper is one while a deployment runs). */
const children = (): number[] =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return new RegExp(`^PPid:\\s+${process.pid}$`, 'm').test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    })
    .map(Number);

async function until(what: string, check: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describeKernel('GhostBackend', { needs: ['root', 'bpf', 'btf', 'raw-tracepoint', 'sched-fifo'] }, () => {
  let restore: (() => void) | undefined;
  beforeEach(() => {
    // The agent runs off the enclave's CPU (the daemon's default allowed set leaves CPU 0 to it).
    const saved = readdirSync('/proc/self/task').map((tid) => [Number(tid), sched.read(Number(tid)).cpus] as const);
    for (const [tid] of saved) sched.setAffinity(tid, [0]);
    restore = () => saved.forEach(([tid, cpus]) => {
      try {
        sched.setAffinity(tid, cpus);
      } catch {
        // gone
      }
    });
  });
  afterEach(() => restore?.());

  it('deploys a thread policy on a process, claims its CPUs exclusively, and ends within 1 s of the target\'s exit leaving nothing open', async () => {
    const backend = new GhostBackend({ allowedCpus: [CPU] });
    expect(await backend.probe()).toEqual([{ hook: 'thread', available: true }]);
    await using server = await startServer(CPU);
    const request = { hook: STANDARD_HOOKS.thread, target: { pid: server.pid, extra: { cpus: [CPU] } }, input: 'thread' as const };
    expect(backend.claims(request).filter((c) => c.kind === 'cpu')).toEqual([expect.objectContaining({ key: String(CPU), exclusive: true })]);
    expect(() => backend.claims({ ...request, target: { pid: server.pid, extra: { cpus: [0] } } })).toThrow("CPU 0 is outside the CPUs the daemon lets enclaves use (1).");
    expect(() => backend.claims({ ...request, target: {} })).toThrow('the thread hook needs the process whose threads it schedules: give --pid.');

    // Under the kernel's scheduler alone the SCANs share the CPU with the GET while it works.
    const shared = await server.request();
    const before = deploymentFds();
    const childrenBefore = children();
    const { ir } = compilePolicy({ fileName: 'policy.ts', text: POLICY });
    const artifact = await backend.compile({ policy: ir.manifest, ir, hook: STANDARD_HOOKS.thread });
    const attachment = await backend.attach({ artifact, target: request.target });
    const ended = new Promise<number>((resolve) => attachment.onTargetExit?.(() => resolve(Date.now())));
    try {
      const busy = attachment.maps.get('busy');
      const workerOf = attachment.maps.get('workerOf');
      server.scan.forEach((tid, i) => {
        workerOf?.update(tid, [BigInt(i + 2)]);
        busy?.update(i + 1, [1n]);
      });
      workerOf?.update(server.get, [1n]);
      await until('the SCAN threads are deferred', () => server.scan.every((tid) => sched.read(tid).policy === SchedPolicy.IDLE));
      // The GET thread was registered after its discovery; its next wakeup promotes it.
      await server.request();
      await until('the GET thread is promoted', () => sched.read(server.get).policy === SchedPolicy.FIFO);
      const priority = await server.request();
      expect(ranAhead(priority.scanProgress, shared.scanProgress), `SCAN progress ${priority.scanProgress.join(',')} with get-priority, ${shared.scanProgress.join(',')} without`).toBe(true);

      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      expect((await ended) - killedAt).toBeLessThan(1000);
    } finally {
      await attachment.close();
    }
    expect(deploymentFds()).toEqual(before);
    // The keeper was told every thread is back and exits.
    await until('the schedule keeper has exited', () => children().length === childrenBefore.length, 1000);
  });
});
