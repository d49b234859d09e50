import type { DataMap } from '@syrup/maps';
import { CompanionError } from './companion-error.js';
import { isNotAtomic } from './map-atomics.js';

/**
 * The userspace half of the scan-avoid policy: it keeps the policy's `busy` map (one u64 per
 * socket) equal to the number of SCANs each socket's thread is serving. The policy only asks
 * whether an entry is 0, so a count works as a flag and lets one thread serve overlapping
 * SCANs (or several threads share a socket) without one's finish clearing another's start.
 *
 * Counts change with `fetchAdd` and a compare-exchange loop, atomic against other trackers on
 * the same map (one per worker thread, say) where the map allows it (kernel arrays are
 * mmapable, so it does). A map that refuses atomics (MAP_NOT_ATOMIC) falls back to get and
 * set; that is safe against the policy, which never writes `busy`, but not against another
 * writer in another thread or process. Calls on one tracker apply in the order they are made.
 */
export class ScanTracker {
  /** Executors 0 to `executors - 1` are tracked; the policy's SOCKETS should not exceed it. */
  readonly executors: number;
  readonly #busy: DataMap;
  /** Unknown until the first update; false once the map refused an atomic operation. */
  #atomic: boolean | undefined;
  /** Orders the updates of this tracker: a finish never overtakes the start it ends. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(busy: DataMap, executors: number) {
    if (busy.spec.kind === 'percpu-array') {
      throw new CompanionError('COMPANION_OPTIONS_INVALID', 'the busy map must hold one value per socket, and a percpu-array holds one per CPU.');
    }
    if (!Number.isInteger(executors) || executors < 1 || executors > busy.spec.maxEntries) {
      throw new CompanionError(
        'COMPANION_OPTIONS_INVALID',
        `executors must be an integer from 1 to the busy map's ${busy.spec.maxEntries} entries, not ${String(executors)}.`,
      );
    }
    this.#busy = busy;
    this.executors = executors;
  }

  /** The executor's thread started serving a SCAN: busy[executor] += 1. */
  async scanStarted(executor: number): Promise<void> {
    this.#check(executor);
    return this.#inOrder(async () => {
      if (this.#atomic !== false) {
        try {
          await this.#busy.fetchAdd(executor, 1n);
          this.#atomic = true;
          return;
        } catch (error) {
          if (!isNotAtomic(error)) throw error;
          this.#atomic = false;
        }
      }
      await this.#busy.set(executor, (await this.#busy.get(executor)) + 1n);
    });
  }

  /** The executor's thread finished a SCAN: busy[executor] -= 1, never below 0 (an unmatched finish is ignored). */
  async scanFinished(executor: number): Promise<void> {
    this.#check(executor);
    return this.#inOrder(async () => {
      if (this.#atomic !== false) {
        try {
          // fetchAdd cannot subtract (deltas are u64), and a compare-exchange loop also keeps the count from wrapping below 0.
          for (;;) {
            const count = await this.#busy.get(executor);
            if (count === 0n) return;
            if ((await this.#busy.compareExchange(executor, count, count - 1n)) === count) break;
          }
          this.#atomic = true;
          return;
        } catch (error) {
          if (!isNotAtomic(error)) throw error;
          this.#atomic = false;
        }
      }
      const count = await this.#busy.get(executor);
      if (count > 0n) await this.#busy.set(executor, count - 1n);
    });
  }

  /** Every tracked executor idle again (busy[0 .. executors-1] = 0), after a restart, say. */
  async reset(): Promise<void> {
    return this.#inOrder(async () => {
      for (let executor = 0; executor < this.executors; executor++) await this.#busy.set(executor, 0n);
    });
  }

  #check(executor: number): void {
    if (!Number.isInteger(executor) || executor < 0 || executor >= this.executors) {
      throw new CompanionError('COMPANION_EXECUTOR_INVALID', `executor ${String(executor)} is not one of the tracker's executors 0 to ${this.executors - 1}.`);
    }
  }

  #inOrder(update: () => Promise<void>): Promise<void> {
    const done = this.#queue.then(update);
    // The queue goes on after a failed update; the caller still sees the failure.
    this.#queue = done.catch(() => undefined);
    return done;
  }
}
