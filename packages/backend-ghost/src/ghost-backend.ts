import { existsSync, readFileSync } from 'node:fs';
import { ReadinessPoller } from '@syrup/backend-ebpf/maps';
import { nativeSyscalls, type Fd } from '@syrup/backend-ebpf/syscalls';
import {
  PolicyEvaluator,
  STANDARD_HOOKS,
  processClaim,
  requireProcessOwner,
  type Artifact,
  type AttachRequest,
  type Attachment,
  type AuthorizeRequest,
  type Authorization,
  type Backend,
  type CompileRequest,
  type DeployTarget,
  type HookProbe,
  type PolicyIr,
  type TargetClaim,
  type TargetRequest,
} from '@syrup/core';
import type { DataMapStore } from '@syrup/maps';
import { Enclave } from './enclave.js';
import { GhostAgent } from './ghost-agent.js';
import { GhostError } from './ghost-error.js';
import { StockLinuxDriver } from './linux/stock-linux-driver.js';

/** What a ghost artifact carries: the policy IR, which the agent runs with core's evaluator. */
export interface GhostArtifact extends Artifact {
  readonly ir: PolicyIr;
}

export interface GhostBackendOptions {
  /**
   * The CPUs enclaves may claim (syrupd's `--thread-cpus`). Default: every online CPU but
   * CPU 0, which stays for the daemon, its agents and housekeeping: an agent that shares a CPU
   * with a SCHED_FIFO thread cannot react until that thread blocks.
   */
  readonly allowedCpus?: readonly number[];
}

/** The token under which a daemon passes {@link GhostBackendOptions} (a `Symbol.for`, so it needs no import of this package). */
export const GhostBackendOptions: unique symbol = Symbol.for('@syrup/backend-ghost.GhostBackendOptions');

/** Parses a CPU list such as `1-3,5`; throws one sentence naming `what` on anything else. */
export function parseCpuList(text: string, what: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) throw new GhostError('GHOST_ENCLAVE_INVALID', `${what} is a CPU list such as 1-3,5, not '${text}'.`);
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first || last - first > 4096) throw new GhostError('GHOST_ENCLAVE_INVALID', `${what} is a CPU list such as 1-3,5, not '${text}'.`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

function onlineCpus(): number[] {
  try {
    return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8').trim(), 'the online CPU list');
  } catch {
    return [0];
  }
}

/**
 * The `thread` hook: a ghOSt-model agent in the daemon's process per deployment, over the
 * stock-Linux driver. A deployment manages the threads of one process (`target.pid`) on an
 * enclave of CPUs (`target.extra.cpus`, default every CPU the daemon allows), each CPU an
 * exclusive claim: one tenant per CPU. A tenant may target only its own processes.
 */
export class GhostBackend implements Backend {
  readonly name = 'ghost';
  readonly hooks = [STANDARD_HOOKS.thread];
  readonly allowedCpus: readonly number[];

  constructor(options: GhostBackendOptions = {}) {
    const online = onlineCpus();
    this.allowedCpus = options.allowedCpus ?? (online.length > 1 ? online.filter((cpu) => cpu !== 0) : online);
  }

  async probe(): Promise<readonly HookProbe[]> {
    const native = ['/sys/fs/ghost', '/sys/kernel/sched_ext'].find((path) => existsSync(path));
    if (!existsSync('/sys/kernel/btf/vmlinux')) {
      return [{ hook: 'thread', available: false, reason: 'the kernel has no BTF (/sys/kernel/btf/vmlinux), which the sched tracepoint programs need to find task fields' }];
    }
    if (process.geteuid?.() !== 0) return [{ hook: 'thread', available: false, reason: 'the thread hook needs root (bpf, and scheduling other processes\' threads)' }];
    // ghOSt and sched_ext are not driven yet; the stock-Linux driver serves every kernel.
    return [{ hook: 'thread', available: true, ...(native === undefined ? {} : { reason: `this kernel has ${native}, which this backend does not drive yet; it uses sched tracepoints, SCHED_FIFO and SCHED_IDLE instead` }) }];
  }

  claims(request: TargetRequest): readonly TargetClaim[] {
    const { pid, cpus } = this.#target(request.target);
    return [processClaim(pid), ...cpus.map((cpu): TargetClaim => ({ kind: 'cpu', key: String(cpu), exclusive: true, taken: `CPU ${cpu} is in an enclave of {holder}, so {caller} may not use it.` }))];
  }

  async authorize(request: AuthorizeRequest): Promise<Authorization> {
    const { pid } = this.#target(request.target);
    requireProcessOwner(pid, request.caller.uid, 'schedule its threads');
    return { target: request.target, claims: this.claims(request) };
  }

  async compile(request: CompileRequest): Promise<GhostArtifact> {
    return { backend: this.name, hook: request.hook.id, policy: request.policy, ir: request.ir };
  }

  async attach(request: AttachRequest): Promise<Attachment> {
    const artifact = request.artifact as GhostArtifact;
    const { pid, cpus, threads, wakeOn } = this.#target(request.target);
    const evaluator = new PolicyEvaluator(artifact.ir, { ...(request.sharedMaps === undefined ? {} : { maps: request.sharedMaps }) });
    const driver = await StockLinuxDriver.open({ pid, cpus, ...(threads === undefined ? {} : { threads }), ...(wakeOn === undefined ? {} : { wakeOn }) });
    const agent = new GhostAgent(driver, new Enclave(pid, cpus), evaluator);
    let exitWatch: { close(): void } | undefined;
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      exitWatch?.close();
      agent.close();
    };
    agent.start();
    return {
      hook: 'thread',
      maps: evaluator.maps as ReadonlyMap<string, DataMapStore>,
      replace: async () => {
        throw new GhostError('GHOST_ENCLAVE_INVALID', 'the thread hook cannot replace a policy in place yet; undeploy and deploy again.');
      },
      onTargetExit: (listener) => {
        exitWatch = watchExit(pid, () => {
          if (!closed) listener();
        });
      },
      close,
      [Symbol.asyncDispose]: close,
    };
  }

  /**
   * The target's pid, enclave CPUs and driver options, checked; one sentence on anything else.
   * `extra.threads` (thread ids) limits the enclave to those threads and `extra.wakeOn`
   * (`'wakeup'`) wakes the agent on wakeups only: see StockLinuxDriverOptions, for an agent
   * that runs in its target process on the enclave's CPU.
   */
  #target(target: DeployTarget): { pid: number; cpus: number[]; threads?: number[]; wakeOn?: 'change' | 'wakeup' } {
    const pid = target.pid;
    if (pid === undefined) throw new GhostError('GHOST_ENCLAVE_INVALID', 'the thread hook needs the process whose threads it schedules: give --pid.');
    const given = target.extra?.['cpus'];
    const cpus =
      given === undefined
        ? [...this.allowedCpus]
        : typeof given === 'string'
          ? parseCpuList(given, 'extra.cpus')
          : Array.isArray(given) && given.every((c) => Number.isSafeInteger(c) && (c as number) >= 0)
            ? [...new Set(given as number[])].sort((a, b) => a - b)
            : parseCpuList(String(given), 'extra.cpus');
    const outside = cpus.filter((cpu) => !this.allowedCpus.includes(cpu));
    if (outside.length > 0) throw new GhostError('GHOST_ENCLAVE_INVALID', `CPU ${outside.join(',')} is outside the CPUs the daemon lets enclaves use (${this.allowedCpus.join(',') || 'none'}).`);
    if (cpus.length === 0) throw new GhostError('GHOST_ENCLAVE_INVALID', 'an enclave needs at least one CPU.');
    const threads = target.extra?.['threads'];
    if (threads !== undefined && !(Array.isArray(threads) && threads.length > 0 && threads.every((t) => Number.isSafeInteger(t) && (t as number) > 0))) {
      throw new GhostError('GHOST_ENCLAVE_INVALID', `extra.threads is a list of thread ids of the process, not ${JSON.stringify(threads)}.`);
    }
    const wakeOn = target.extra?.['wakeOn'];
    if (wakeOn !== undefined && wakeOn !== 'change' && wakeOn !== 'wakeup') throw new GhostError('GHOST_ENCLAVE_INVALID', `extra.wakeOn is 'change' or 'wakeup', not ${JSON.stringify(wakeOn)}.`);
    return { pid, cpus, ...(threads === undefined ? {} : { threads: [...(threads as number[])] }), ...(wakeOn === undefined ? {} : { wakeOn }) };
  }
}

/** Calls `onExit` once when process `pid` exits (a pidfd becomes readable), or at once if it is gone. */
function watchExit(pid: number, onExit: () => void): { close(): void } {
  const sys = nativeSyscalls();
  let pidfd: Fd;
  try {
    pidfd = sys.pidfdOpen(pid);
  } catch {
    const timer = setImmediate(onExit);
    return { close: () => clearImmediate(timer) };
  }
  const watch = ReadinessPoller.of(sys).watch(pidfd, () => {
    watch.close();
    pidfd.close();
    onExit();
  });
  watch.arm();
  return {
    close: () => {
      watch.close();
      pidfd.close();
    },
  };
}
