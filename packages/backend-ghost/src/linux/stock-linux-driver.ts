import { readdirSync, readFileSync } from 'node:fs';
import { KernelBtf } from '@syrup/backend-ebpf/btf';
import { RawTracepointLink } from '@syrup/backend-ebpf/links';
import { KernelMap, RingBuffer } from '@syrup/backend-ebpf/maps';
import { Program } from '@syrup/backend-ebpf/programs';
import { MapType, ProgType, UpdateFlag } from '@syrup/backend-ebpf/syscalls';
import { GhostError } from '../ghost-error.js';
import type { GhostDriver } from '../ghost-driver.js';
import type { GhostMessage, GhostMessageType } from '../thread-message.js';
import type { GhostTransaction, TransactionOutcome } from '../transaction.js';
import { rtThrottlingReport, type RtThrottlingReport } from './rt-throttling-report.js';
import { RECORD_SIZE, RECORD_TYPES, SCHED_MAPS, SCHED_TRACEPOINTS, TARGET_FLAGS, schedEventProgram, type TaskOffsets } from './sched-event-programs.js';
import { SchedCallError, SchedPolicy, SchedSyscalls, type ThreadSchedule } from './sched-syscalls.js';
import { ScheduleKeeper } from './schedule-keeper.js';

export interface StockLinuxDriverOptions {
  /** The process whose threads the enclave manages. */
  readonly pid: number;
  /** The enclave's CPUs. */
  readonly cpus: readonly number[];
  /** SCHED_FIFO priority of a committed thread (1..99). Default 1: above every CFS thread, below the kernel's own RT threads. */
  readonly priority?: number;
  /** Ring buffer bytes (a power of two of at least a page). Default 256 KiB. */
  readonly ringBytes?: number;
  /** Only these threads are managed (those the application registers); default all of the process's threads. */
  readonly manages?: (tid: number) => boolean;
  /**
   * Only these threads are reported at all, filtered in the kernel (default: every thread of
   * the process). An agent running in the target process itself must name them: its own
   * threads' switches would otherwise wake it, and its handling of them make more.
   */
  readonly threads?: readonly number[];
  /**
   * What wakes the agent: `'change'` (default), any record when it had read all before;
   * `'wakeup'`, only a thread's `new` and `wakeup` (the others are read with the next one).
   * For an agent that runs on an enclave CPU above the enclave's threads: each of its runs
   * preempts a thread, whose switches back would wake it again and again.
   */
  readonly wakeOn?: 'change' | 'wakeup';
}

const TYPE_OF_RECORD = new Map<number, GhostMessageType>(Object.entries(RECORD_TYPES).map(([name, code]) => [code, name as GhostMessageType]));
const SEQ_KEY = new Uint8Array(4);
const SEQ_ONE = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

/**
 * ghOSt's model on a stock kernel. Messages come from raw tracepoint programs on
 * sched_switch, sched_wakeup, sched_wakeup_new and sched_process_exit (no tracefs needed),
 * filtered in the kernel to the enclave's process and delivered through a ring buffer; each
 * thread's change counter in a hash map is its task barrier. A commit checks the counter
 * against the decision's barrier, then applies the placement:
 * - run on CPU c: sched_setaffinity({c}) and SCHED_FIFO (ahead of every CFS and SCHED_IDLE thread there);
 * - defer: SCHED_IDLE with the thread's original affinity (it runs where a CPU would otherwise idle);
 * - kernel: the thread's original policy, priority and affinity.
 * The window between the counter check and the syscalls stays open (a thread can block in
 * between); the next message corrects what that costs.
 *
 * Every thread's scheduling is saved before the driver first changes it and put back by
 * `release` and `close`; a copy goes to a `ScheduleKeeper` process first, which puts it back
 * if this process dies without closing. Waiting for records uses the ring buffer's readiness thread: the
 * agent sleeps until the kernel publishes, it never spins.
 */
export class StockLinuxDriver implements GhostDriver {
  readonly name = 'stock-linux';
  readonly pid: number;
  readonly cpus: readonly number[];
  /** What bounds SCHED_FIFO here, read at open. */
  readonly rtThrottling: RtThrottlingReport;
  readonly #priority: number;
  readonly #manages: (tid: number) => boolean;
  readonly #sched = new SchedSyscalls();
  readonly #saved = new Map<number, ThreadSchedule>();
  readonly #resources: Disposable[];
  readonly #seqs: KernelMap;
  readonly #ring: RingBuffer;
  readonly #discovered: GhostMessage[];
  readonly #keeper: ScheduleKeeper;
  #listening = false;
  #closed = false;

  private constructor(options: StockLinuxDriverOptions, seqs: KernelMap, ring: RingBuffer, resources: Disposable[], discovered: GhostMessage[], keeper: ScheduleKeeper) {
    this.#keeper = keeper;
    this.pid = options.pid;
    this.cpus = [...options.cpus];
    this.#priority = options.priority ?? 1;
    this.#manages = options.manages ?? (() => true);
    this.#seqs = seqs;
    this.#ring = ring;
    this.#resources = resources;
    this.#discovered = discovered;
    this.rtThrottling = rtThrottlingReport(options.pid);
  }

  /**
   * Starts the schedule keeper, loads and attaches the programs, then discovers the process's
   * threads (each gets a `new` message with its current seq). Nothing stays attached and no
   * keeper stays running when a step fails.
   */
  static async open(options: StockLinuxDriverOptions): Promise<StockLinuxDriver> {
    const { pid } = options;
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new GhostError('GHOST_ENCLAVE_INVALID', `an enclave's process id must be a positive integer, not ${String(pid)}.`);
    const priority = options.priority ?? 1;
    if (!Number.isInteger(priority) || priority < 1 || priority > 99) throw new GhostError('GHOST_ENCLAVE_INVALID', `the SCHED_FIFO priority of committed threads must be 1 to 99, not ${String(priority)}.`);
    const listed = options.threads;
    if (listed !== undefined && (listed.length === 0 || listed.some((tid) => !Number.isSafeInteger(tid) || tid <= 0))) {
      throw new GhostError('GHOST_ENCLAVE_INVALID', `the threads an enclave manages are positive thread ids, at least one, not [${listed.join(', ')}].`);
    }
    const btf = KernelBtf.vmlinux();
    const offsets: TaskOffsets = {
      pid: btf.memberOffset('task_struct', 'pid'),
      tgid: btf.memberOffset('task_struct', 'tgid'),
      runtime: btf.memberOffset('task_struct', 'se.sum_exec_runtime'),
      flags: btf.memberOffset('task_struct', 'flags'),
    };
    const keeper = await ScheduleKeeper.start();
    const resources: Disposable[] = [];
    try {
      const target = track(resources, KernelMap.create({ type: MapType.ARRAY, keySize: 4, valueSize: 8, maxEntries: 1, name: 'ghost_target' }));
      const seqs = track(resources, KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 8, maxEntries: 16_384, name: 'ghost_seqs' }));
      const threads = track(resources, KernelMap.create({ type: MapType.HASH, keySize: 4, valueSize: 1, maxEntries: Math.max(1, listed?.length ?? 0), name: 'ghost_threads' }));
      for (const tid of listed ?? []) {
        const key = new Uint8Array(4);
        new DataView(key.buffer).setUint32(0, tid, true);
        threads.update(key, new Uint8Array(1));
      }
      const ring = track(resources, RingBuffer.create({ size: options.ringBytes ?? 256 * 1024, name: 'ghost_events' }));
      const maps = new Map([
        [SCHED_MAPS.target, target],
        [SCHED_MAPS.seqs, seqs],
        [SCHED_MAPS.threads, threads],
        [SCHED_MAPS.events, ring.kernelMap],
      ]);
      for (const tracepoint of SCHED_TRACEPOINTS) {
        const program = track(resources, Program.load({ name: `ghost_${tracepoint}`.slice(0, 15), type: ProgType.RAW_TRACEPOINT, license: 'GPL', instructions: schedEventProgram(tracepoint, offsets), maps }));
        track(resources, RawTracepointLink.attach(program, tracepoint));
      }
      // Filtering starts only now, with every program attached: no change is counted by some and missed by others.
      const value = new Uint8Array(8);
      new DataView(value.buffer).setUint32(0, pid, true);
      new DataView(value.buffer).setUint32(4, (listed === undefined ? 0 : TARGET_FLAGS.listedThreads) | (options.wakeOn === 'wakeup' ? TARGET_FLAGS.wakeOnWakeup : 0), true);
      target.update(new Uint8Array(4), value);
      const manages = listed === undefined ? (options.manages ?? (() => true)) : (tid: number) => listed.includes(tid) && (options.manages?.(tid) ?? true);
      const discovered = discoverThreads(pid, seqs, manages);
      return new StockLinuxDriver(options, seqs, ring, resources, discovered, keeper);
    } catch (error) {
      for (const resource of resources.reverse()) resource[Symbol.dispose]();
      keeper.close();
      throw error;
    }
  }

  start(onMessages: (batch: readonly GhostMessage[]) => void): void {
    this.#checkOpen();
    if (this.#listening) throw new GhostError('GHOST_DRIVER_BUSY', 'this driver already delivers to an agent.');
    this.#listening = true;
    const first = this.#discovered.splice(0);
    if (first.length > 0) onMessages(first);
    void this.#loop(onMessages);
  }

  poll(): GhostMessage[] {
    if (this.#closed) return [];
    const batch: GhostMessage[] = [];
    this.#ring.drain((data) => {
      const message = parseRecord(data);
      if (message !== undefined && this.#manages(message.tid)) batch.push(message);
    });
    return batch;
  }

  commit(transaction: GhostTransaction): TransactionOutcome {
    this.#checkOpen();
    const { tid, barrier, placement } = transaction;
    const seq = this.seqOf(tid);
    if (seq === undefined) return 'dead';
    if (seq !== barrier) return 'stale';
    // PASS for a thread the driver never changed: it is the kernel's already, no syscall needed.
    if (placement.kind === 'kernel' && !this.#saved.has(tid)) return 'committed';
    try {
      const original = this.#original(tid);
      switch (placement.kind) {
        case 'run':
          if (!original.cpus.includes(placement.cpu)) return 'cpu-gone';
          this.#sched.setAffinity(tid, [placement.cpu]);
          this.#sched.setPolicy(tid, SchedPolicy.FIFO, this.#priority);
          break;
        case 'defer':
          this.#sched.setPolicy(tid, SchedPolicy.IDLE, 0);
          this.#sched.setAffinity(tid, original.cpus);
          break;
        case 'kernel':
          // Given back: as if the driver had never touched it.
          this.release(tid);
          break;
      }
    } catch (error) {
      if (error instanceof SchedCallError && error.gone) return 'dead';
      if (error instanceof SchedCallError && error.noCpu) return 'cpu-gone';
      throw error;
    }
    return 'committed';
  }

  /** The thread's change counter as the kernel has it now (undefined: never seen, or exited). */
  seqOf(tid: number): number | undefined {
    new DataView(SEQ_KEY.buffer).setUint32(0, tid, true);
    const value = this.#seqs.lookup(SEQ_KEY);
    return value === undefined ? undefined : Number(new DataView(value.buffer, value.byteOffset).getBigUint64(0, true));
  }

  release(tid: number): void {
    const original = this.#saved.get(tid);
    if (original === undefined) return;
    try {
      this.#sched.restore(tid, original);
    } catch (error) {
      if (!(error instanceof SchedCallError && error.gone)) throw error;
    }
    this.#saved.delete(tid);
    this.#keeper.forget(tid);
  }

  /** The scheduling saved for each thread the driver changed (what `close` restores). */
  savedSchedules(): ReadonlyMap<number, ThreadSchedule> {
    return this.#saved;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const failures: unknown[] = [];
    for (const tid of [...this.#saved.keys()]) {
      try {
        this.release(tid);
      } catch (error) {
        failures.push(error);
      }
    }
    for (const resource of this.#resources.reverse()) resource[Symbol.dispose]();
    // When a thread could not be given back here, the keeper tries again on its way out.
    this.#keeper.close(failures.length === 0);
    if (failures.length > 0) throw new GhostError('GHOST_KERNEL', `${failures.length} thread(s) could not be given back their scheduling: ${(failures[0] as Error).message}`, { cause: failures });
  }

  [Symbol.dispose](): void {
    this.close();
  }

  async #loop(onMessages: (batch: readonly GhostMessage[]) => void): Promise<void> {
    while (!this.#closed) {
      try {
        await this.#ring.wait();
      } catch {
        return; // closed while waiting
      }
      const batch = this.poll();
      if (batch.length > 0) onMessages(batch);
    }
  }

  #original(tid: number): ThreadSchedule {
    let saved = this.#saved.get(tid);
    if (saved === undefined) {
      saved = this.#sched.read(tid);
      this.#saved.set(tid, saved);
      // Before the first change: whatever happens to this process from now on, the keeper can undo it.
      this.#keeper.save(tid, saved);
    }
    return saved;
  }

  #checkOpen(): void {
    if (this.#closed) throw new GhostError('GHOST_DRIVER_CLOSED', 'the stock-Linux driver is closed.');
  }
}

function track<T extends Disposable>(resources: Disposable[], resource: T): T {
  resources.push(resource);
  return resource;
}

function parseRecord(data: Uint8Array): GhostMessage | undefined {
  if (data.byteLength < RECORD_SIZE) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const type = TYPE_OF_RECORD.get(view.getUint32(0, true));
  if (type === undefined) return undefined;
  return {
    type,
    tid: view.getUint32(4, true),
    seq: Number(view.getBigUint64(8, true)),
    timeNs: view.getBigUint64(16, true),
    runtimeNs: view.getBigUint64(24, true),
    cpu: view.getUint32(32, true),
  };
}

/**
 * A `new` message for each thread of the process it manages, with the seq its counter holds (a
 * counter the programs have not created yet starts at 1 here). Threads that exit meanwhile
 * are skipped; their exit message follows if the programs saw them.
 */
function discoverThreads(pid: number, seqs: KernelMap, manages: (tid: number) => boolean): GhostMessage[] {
  let tids: number[];
  try {
    tids = readdirSync(`/proc/${pid}/task`).map(Number);
  } catch (cause) {
    throw new GhostError('GHOST_ENCLAVE_INVALID', `process ${pid} does not exist.`, { cause });
  }
  const key = new Uint8Array(4);
  const messages: GhostMessage[] = [];
  for (const tid of tids.filter(manages).sort((a, b) => a - b)) {
    new DataView(key.buffer).setUint32(0, tid, true);
    try {
      seqs.update(key, SEQ_ONE, UpdateFlag.NOEXIST);
    } catch {
      // Already counted by a program: keep its value.
    }
    const value = seqs.lookup(key);
    const stat = threadStat(pid, tid);
    if (value === undefined || stat === undefined) continue;
    messages.push({ type: 'new', tid, seq: Number(new DataView(value.buffer, value.byteOffset).getBigUint64(0, true)), cpu: stat.cpu, runtimeNs: stat.runtimeNs, timeNs: process.hrtime.bigint() });
  }
  return messages;
}

/** The thread's last CPU (/proc stat field 39) and run time (schedstat's first field), or undefined once it is gone. */
function threadStat(pid: number, tid: number): { cpu: number; runtimeNs: bigint } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const schedstat = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ');
    return { cpu: Number(fields[36]), runtimeNs: BigInt(schedstat[0] ?? '0') };
  } catch {
    return undefined;
  }
}
