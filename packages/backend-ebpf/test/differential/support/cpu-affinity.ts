import koffi from 'koffi';

/*
 * BPF_PROG_TEST_RUN runs an XDP program on the CPU of the calling thread (its `cpu` field is
 * for raw tracepoints only), so a per-CPU map slot a run touches is only predictable when the
 * thread cannot migrate. sched_setaffinity(0, ...) pins the calling thread: the JavaScript main
 * thread of the test worker, which is the one that makes the bpf() calls.
 */

const MASK_BYTES = 128; // room for 1024 CPUs, glibc's cpu_set_t

type Call = (...args: unknown[]) => number;
let libc: { get: Call; set: Call; errno: () => number } | undefined;

function lib(): { get: Call; set: Call; errno: () => number } {
  if (libc === undefined) {
    const l = koffi.load('libc.so.6');
    libc = {
      get: l.func('int sched_getaffinity(int pid, size_t size, _Out_ uint8_t *mask)') as Call,
      set: l.func('int sched_setaffinity(int pid, size_t size, const uint8_t *mask)') as Call,
      errno: () => koffi.errno(),
    };
  }
  return libc;
}

/** The CPUs the calling thread may run on, ascending. */
export function allowedCpus(): number[] {
  const mask = new Uint8Array(MASK_BYTES);
  if (lib().get(0, MASK_BYTES, mask) !== 0) throw new Error(`sched_getaffinity failed (errno ${lib().errno()})`);
  const cpus: number[] = [];
  for (let cpu = 0; cpu < MASK_BYTES * 8; cpu++) if ((mask[cpu >> 3]! >> (cpu & 7)) & 1) cpus.push(cpu);
  return cpus;
}

function setAffinity(cpus: readonly number[]): void {
  const mask = new Uint8Array(MASK_BYTES);
  for (const cpu of cpus) mask[cpu >> 3]! |= 1 << (cpu & 7);
  if (lib().set(0, MASK_BYTES, mask) !== 0) throw new Error(`sched_setaffinity(${cpus.join(',')}) failed (errno ${lib().errno()})`);
}

/**
 * Pins the calling thread to `cpu` and returns a function that restores the affinity it had.
 * The kernel moves the thread before sched_setaffinity returns, so the next syscall already
 * runs there.
 */
export function pinToCpu(cpu: number): () => void {
  const before = allowedCpus();
  setAffinity([cpu]);
  return () => setAffinity(before);
}
