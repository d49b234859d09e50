import koffi from 'koffi';
import { GhostError } from '../ghost-error.js';

/** Scheduling policies (`SCHED_*` of sched.h) the driver uses or restores. */
export const SchedPolicy = { OTHER: 0, FIFO: 1, RR: 2, BATCH: 3, IDLE: 5, DEADLINE: 6 } as const;

/** A thread's scheduling as sched_getattr and sched_getaffinity report it: what the driver saves and restores. */
export interface ThreadSchedule {
  readonly policy: number;
  readonly priority: number;
  readonly nice: number;
  readonly flags: bigint;
  /** The CPUs the thread may run on, ascending. */
  readonly cpus: readonly number[];
}

const NUMBERS: Readonly<Record<string, { setaffinity: number; getaffinity: number; setattr: number; getattr: number }>> = {
  x64: { setaffinity: 203, getaffinity: 204, setattr: 314, getattr: 315 },
  arm64: { setaffinity: 122, getaffinity: 123, setattr: 274, getattr: 275 },
};
/** `struct sched_attr` of SCHED_ATTR_SIZE_VER1: size, policy, flags, nice, priority, runtime, deadline, period, util_min, util_max. */
const SCHED_ATTR_SIZE = 56;
/** Room for 1024 CPUs in an affinity mask. */
const MASK_BYTES = 128;
const ESRCH = 3;
const EINVAL = 22;

type Call = (...args: unknown[]) => number;

/** A sched_* call failed; `errno` says why (ESRCH: the thread is gone, EINVAL: no allowed CPU, EPERM: no RT runtime). */
export class SchedCallError extends GhostError {
  override name = 'SchedCallError';
  readonly errno: number;

  constructor(call: string, tid: number, errno: number) {
    super('GHOST_KERNEL', `${call} on thread ${tid} failed with errno ${errno}${errno === 1 ? ' (EPERM: not allowed, or its cpu cgroup has no RT runtime)' : ''}.`);
    this.errno = errno;
  }

  get gone(): boolean {
    return this.errno === ESRCH;
  }

  get noCpu(): boolean {
    return this.errno === EINVAL;
  }
}

/**
 * sched_setattr, sched_getattr, sched_setaffinity and sched_getaffinity through libc's
 * syscall() (glibc has no sched_setattr wrapper). One buffer per call kind, allocated once:
 * the agent calls these on every commit.
 */
export class SchedSyscalls {
  readonly #numbers: { setaffinity: number; getaffinity: number; setattr: number; getattr: number };
  /** syscall(number, tid, attr, size, flags): sched_getattr and sched_setattr (size unused, 0). */
  readonly #attrCall: Call;
  /** syscall(number, tid, size, mask): sched_getaffinity and sched_setaffinity. */
  readonly #maskCall: Call;
  readonly #attr = new ArrayBuffer(SCHED_ATTR_SIZE);
  readonly #mask = new ArrayBuffer(MASK_BYTES);

  constructor() {
    const numbers = NUMBERS[process.arch];
    if (numbers === undefined) throw new GhostError('GHOST_KERNEL', `the thread backend knows the sched syscall numbers of x64 and arm64, not ${process.arch}.`);
    this.#numbers = numbers;
    const libc = koffi.load('libc.so.6');
    // glibc's syscall() is variadic; on x86_64 and aarch64 integer and pointer arguments use the same registers either way.
    this.#attrCall = libc.func('syscall', 'long', ['long', 'long', 'void *', 'unsigned long', 'unsigned long']) as Call;
    this.#maskCall = libc.func('syscall', 'long', ['long', 'long', 'unsigned long', 'void *']) as Call;
  }

  read(tid: number): ThreadSchedule {
    new Uint8Array(this.#attr).fill(0);
    this.#check('sched_getattr', tid, this.#attrCall(this.#numbers.getattr, tid, this.#attr, SCHED_ATTR_SIZE, 0));
    const mask = new Uint8Array(this.#mask).fill(0);
    this.#check('sched_getaffinity', tid, this.#maskCall(this.#numbers.getaffinity, tid, MASK_BYTES, this.#mask));
    const cpus: number[] = [];
    for (let i = 0; i < MASK_BYTES * 8; i++) if (((mask[i >> 3] as number) & (1 << (i & 7))) !== 0) cpus.push(i);
    const attr = new DataView(this.#attr);
    return { policy: attr.getUint32(4, true), flags: attr.getBigUint64(8, true), nice: attr.getInt32(16, true), priority: attr.getUint32(20, true), cpus };
  }

  /** Sets the policy and its priority (nice for the normal classes). */
  setPolicy(tid: number, policy: number, priority: number, nice = 0, flags = 0n): void {
    new Uint8Array(this.#attr).fill(0);
    const attr = new DataView(this.#attr);
    attr.setUint32(0, SCHED_ATTR_SIZE, true);
    attr.setUint32(4, policy, true);
    attr.setBigUint64(8, flags, true);
    attr.setInt32(16, nice, true);
    attr.setUint32(20, priority, true);
    this.#check('sched_setattr', tid, this.#attrCall(this.#numbers.setattr, tid, this.#attr, 0, 0));
  }

  setAffinity(tid: number, cpus: readonly number[]): void {
    const mask = new Uint8Array(this.#mask).fill(0);
    for (const cpu of cpus) mask[cpu >> 3] = (mask[cpu >> 3] as number) | (1 << (cpu & 7));
    this.#check('sched_setaffinity', tid, this.#maskCall(this.#numbers.setaffinity, tid, MASK_BYTES, this.#mask));
  }

  /** Puts a thread back as `schedule` describes it. */
  restore(tid: number, schedule: ThreadSchedule): void {
    this.setPolicy(tid, schedule.policy, schedule.priority, schedule.nice, schedule.flags);
    this.setAffinity(tid, schedule.cpus);
  }

  #check(name: string, tid: number, result: number): void {
    if (result < 0) throw new SchedCallError(name, tid, koffi.errno());
  }
}
