import { readdirSync, readFileSync } from 'node:fs';
import { KernelDataMapStore } from '@syrup/backend-ebpf/maps';
import { READINESS_THREAD_NAME } from '@syrup/backend-ebpf/readiness';
import { GhostBackend, SchedPolicy, SchedSyscalls } from '@syrup/backend-ghost';
import { Backend, compilePolicy, type BackendModule, type PolicySource } from '@syrup/core';
import type { DataMap } from '@syrup/maps';
import { WorkerThreads } from '@syrup/policies-std';
import type { EmbeddedSyrup } from '@syrup/runtime';
import { UsageError } from './usage-error.js';

/**
 * SCHED_FIFO priority of the agent's threads: above the workers, which the agent commits at
 * priority 1 (the stock-Linux driver's default), so the agent preempts a worker on the one CPU
 * they share, e.g. one that serves a SCAN, to defer it.
 */
export const AGENT_FIFO_PRIORITY = 2;

/** What a deployed thread policy is, for the ready line and the runner. */
export interface ThreadPolicyInfo {
  /** The thread policy as given (--thread-policy). */
  readonly policy: string;
  readonly id: string;
  /** The agent's threads: this process's main thread (the agent loop) and the thread that waits on its ring buffer. */
  readonly agentTids: readonly number[];
}

/** The CPUs this process may run on (the runner's taskset): the thread policy's enclave. */
export function serverCpus(): number[] {
  return [...new SchedSyscalls().read(process.pid).cpus];
}

/**
 * The thread backend, allowed to make enclaves of `cpus` (by default it keeps CPU 0 out of
 * every enclave, for a daemon's agent: here the agent shares the server's CPUs instead).
 */
export function enclaveBackendModule(cpus: readonly number[]): BackendModule {
  return {
    name: 'ghost',
    register(container) {
      container.register(Backend, { useValue: new GhostBackend({ allowedCpus: cpus }) });
    },
  };
}

/**
 * Deploys `source` (a thread policy) at the `thread` hook over this process's worker threads
 * `workerTids` (worker k's thread id at k), with an agent in this process on the server's
 * CPUs, and registers each worker with its socket in the policy's `workerOf` map (what
 * get-priority reads). The policy's `busy` map is shared by name, so it is the socket-layer
 * policy's when that one shares it too. The agent's threads then run at SCHED_FIFO
 * AGENT_FIFO_PRIORITY, and it hears only the workers (extra.threads), woken only by their
 * wakeups (extra.wakeOn): any other switch it caused by running would wake it again.
 * Returns the deployment and the policy's `busy` map, if it declares one.
 */
export async function deployThreadPolicy(
  syrup: EmbeddedSyrup,
  source: PolicySource,
  policy: string,
  workerTids: readonly number[],
): Promise<{ info: ThreadPolicyInfo; busy: KernelDataMapStore | undefined }> {
  const manifest = compilePolicy(source).manifest;
  if (manifest.input !== 'thread') throw new UsageError(`--thread-policy '${policy}' is a policy for ${manifest.input} input, not for threads.`);
  const deployment = await syrup.deploy(source, {
    hook: 'thread',
    pid: process.pid,
    extra: { cpus: serverCpus(), threads: [...workerTids], wakeOn: 'wakeup' },
    ...(manifest.maps['busy'] === undefined ? {} : { shareMaps: ['busy'] }),
  });
  const managed = syrup.service.get(deployment.id);
  const workerOf = (managed.maps as Readonly<Record<string, DataMap>>)['workerOf'];
  if (workerOf === undefined) throw new UsageError(`thread policy '${policy}' declares no workerOf map to register the workers in.`);
  const workers = new WorkerThreads(workerOf);
  for (const [executor, tid] of workerTids.entries()) await workers.register(tid, { executor });
  const busy = managed.attachment?.maps.get('busy');
  if (busy !== undefined && !(busy instanceof KernelDataMapStore && busy.atomic)) {
    throw new UsageError(`thread policy '${policy}' has a busy map the workers cannot mark atomically (not an mmapable kernel array).`);
  }
  const agentTids = await raiseAgentThreads(AGENT_FIFO_PRIORITY);
  return { info: { policy, id: deployment.id, agentTids }, busy };
}

/** How long the readiness thread may take to appear: the agent's start creates it, and it names itself once it runs. */
const READINESS_THREAD_WAIT_MS = 5000;

/** Puts this process's main thread and its readiness thread at SCHED_FIFO `priority`; answers their thread ids. */
async function raiseAgentThreads(priority: number): Promise<number[]> {
  const deadline = performance.now() + READINESS_THREAD_WAIT_MS;
  let readiness = threadsNamed(READINESS_THREAD_NAME);
  while (readiness.length === 0) {
    if (performance.now() > deadline) throw new Error(`the agent's readiness thread (${READINESS_THREAD_NAME}) did not appear within ${READINESS_THREAD_WAIT_MS} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    readiness = threadsNamed(READINESS_THREAD_NAME);
  }
  const sched = new SchedSyscalls();
  const tids = [process.pid, ...readiness];
  for (const tid of tids) sched.setPolicy(tid, SchedPolicy.FIFO, priority);
  return tids;
}

function threadsNamed(name: string): number[] {
  return readdirSync('/proc/self/task')
    .map(Number)
    .filter((tid) => {
      try {
        return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === name;
      } catch {
        return false;
      }
    });
}
