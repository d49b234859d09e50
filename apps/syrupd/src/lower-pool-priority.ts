import { readdirSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { getPriority, setPriority } from 'node:os';

/** How far below the event loop libuv's pool threads run in syrupd: 10 nice steps make the loop's weight about ten times theirs when both want a CPU. */
export const POOL_NICE_STEPS = 10;

/** The name Node gives libuv's pool threads (/proc/<pid>/task/<tid>/comm). */
const POOL_THREAD_NAME = 'libuv-worker';

/**
 * Lowers the CPU priority of this process's libuv pool threads `steps` nice values below the
 * event loop's thread (at most to 19, relative so that a daemon started under `nice` keeps
 * its pool below its loop, and lowering is all an unprivileged process may do). The kernel's verifier runs on them (the eBPF backend loads programs there, off the
 * loop), and on a busy machine one tenant's verifier-bound policy would otherwise take CPU
 * time from the thread that answers every tenant (issue #15). The pool's other work (file
 * system calls) is short and waits on I/O, so it barely notices. libuv starts its threads on
 * the first piece of pool work, which is why a stat() comes first. On Linux setpriority(2)
 * with a thread id applies to that thread only. Returns the thread ids it reniced.
 */
export async function lowerPoolPriority(steps: number = POOL_NICE_STEPS): Promise<number[]> {
  await stat('/');
  const nice = Math.min(19, getPriority(0) + steps);
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
