import { readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { setPriority } from 'node:os';

/** The nice value of libuv's pool threads in syrupd: the event loop's weight is about ten times theirs when both want a CPU. */
export const POOL_NICE = 10;

/** The name Node gives libuv's pool threads (/proc/<pid>/task/<tid>/comm). */
const POOL_THREAD_NAME = 'libuv-worker';

/**
 * Lowers the CPU priority of this process's libuv pool threads to `nice`, below the event
 * loop's. The kernel's verifier runs on them (the eBPF backend loads programs there, off the
 * loop), and on a busy machine one tenant's verifier-bound policy would otherwise take CPU
 * time from the thread that answers every tenant (issue #15). The pool's other work (file
 * system calls) is short and waits on I/O, so it barely notices. libuv starts its threads on
 * the first piece of pool work, which is why a stat() comes first. On Linux setpriority(2)
 * with a thread id applies to that thread only. Returns the thread ids it reniced.
 */
export async function lowerPoolPriority(nice: number = POOL_NICE): Promise<number[]> {
  await stat('/');
  const lowered: number[] = [];
  for (const tid of readdirSync('/proc/self/task')) {
    let name: string;
    try {
      name = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      // The thread ended meanwhile.
      continue;
    }
    if (name !== POOL_THREAD_NAME) continue;
    setPriority(Number(tid), nice);
    lowered.push(Number(tid));
  }
  return lowered;
}
