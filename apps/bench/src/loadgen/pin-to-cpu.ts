import koffi from 'koffi';
import { availableParallelism } from 'node:os';

type Call = (...args: unknown[]) => number;

/**
 * Pins the calling thread (Node's main thread, which runs the busy-poll loop) to `cpu` and
 * returns the CPU it is then running on. Only this thread is pinned: V8's GC and libuv helper
 * threads stay free to run elsewhere instead of stealing the generator's CPU.
 */
export function pinToCpu(cpu: number): number {
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= 1024) throw new RangeError(`--cpu must be a CPU number, got ${cpu}`);
  const lib = koffi.load('libc.so.6');
  const setAffinity = lib.func('int sched_setaffinity(int pid, size_t size, const void *mask)') as Call;
  const getCpu = lib.func('int sched_getcpu()') as Call;
  const mask = new Uint8Array(128);
  mask[cpu >> 3] = 1 << (cpu & 7);
  if (setAffinity(0, mask.length, mask) < 0) throw new Error(`sched_setaffinity to CPU ${cpu} failed with errno ${koffi.errno()}`);
  return getCpu();
}

/** The default CPU for the generator: the last one, leaving CPU 0 (where interrupts and most housekeeping land) to the server. */
export function defaultLoadgenCpu(): number {
  return availableParallelism() - 1;
}
