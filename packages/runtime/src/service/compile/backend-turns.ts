import { RuntimeError } from '../../errors/runtime-error.js';
import { LimitError } from '../limits/limit-error.js';
import { RoundRobinQueue } from './round-robin-queue.js';

/**
 * libuv's pool has 4 threads unless UV_THREADPOOL_SIZE says otherwise, and a verifier run
 * holds one for its whole length (the eBPF backend loads through it, off the event loop):
 * two turns at once leave the others to the file system and DNS, which every client needs.
 */
export const DEFAULT_BACKEND_SLOTS = 2;

export interface BackendTurnOptions {
  /** Turns `uid` may have waiting or running at once; one more is refused with LimitError LIMIT_QUEUED_LOADS. Absent means unlimited. */
  readonly maxQueued?: number;
  /** Withdraws the turn while it waits (its client went away); a running turn is not interrupted. */
  readonly signal?: AbortSignal;
}

interface Turn {
  readonly uid: number;
  readonly start: () => void;
}

/**
 * Turns at the backend's slow stage of a deploy, replace or disasm: code generation, the
 * kernel's verifier (which may work for seconds on one untrusted program) and the attach.
 * At most `slots` turns run at once, at most one per uid, and waiting turns are served round
 * robin across uids (round-robin-queue.ts), as compiles are: a tenant that sends many
 * verifier-bound policies holds one turn, and another tenant's deploy waits for at most the
 * turns already running, not for the whole backlog (issue #15).
 * Invariant: `#running` counts the uids of running turns, and never exceeds one per uid.
 */
export class BackendTurns {
  readonly #slots: number;
  readonly #queue = new RoundRobinQueue<Turn>();
  /** Running turns by uid (0 or 1 each; a uid is absent when it runs none). */
  readonly #running = new Map<number, number>();
  #active = 0;

  constructor(slots: number = DEFAULT_BACKEND_SLOTS) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`backend slots must be a positive integer, not ${String(slots)}.`);
    this.#slots = slots;
  }

  /** Turns `uid` has waiting or running. */
  heldBy(uid: number): number {
    return this.#queue.sizeOf(uid) + (this.#running.get(uid) ?? 0);
  }

  /** Runs `work` in `uid`'s turn and settles as it does; the turn ends when it settles. */
  run<T>(uid: number, work: () => Promise<T>, options: BackendTurnOptions = {}): Promise<T> {
    const { maxQueued, signal } = options;
    if (signal?.aborted === true) return Promise.reject(cancelled(signal));
    const held = this.heldBy(uid);
    if (maxQueued !== undefined && held >= maxQueued) {
      return Promise.reject(
        new LimitError('LIMIT_QUEUED_LOADS', `uid ${uid} already has ${held} policies waiting for code generation or the verifier, the --max-queued-compiles limit.`, maxQueued),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        if (signal !== undefined && this.#queue.remove(uid, turn)) reject(cancelled(signal));
      };
      const turn: Turn = {
        uid,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          let result: Promise<T>;
          try {
            result = work();
          } catch (error) {
            result = Promise.reject(error as Error);
          }
          result.then(resolve, reject).finally(() => this.#end(uid));
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(uid, turn);
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#active < this.#slots) {
      // A uid running a turn keeps its place in the queue until that turn ends.
      const turn = this.#queue.shift((uid) => !this.#running.has(uid));
      if (turn === undefined) return;
      this.#active++;
      this.#running.set(turn.uid, 1);
      turn.start();
    }
  }

  #end(uid: number): void {
    this.#active--;
    this.#running.delete(uid);
    // The next turn starts after the event loop has polled: a turn's code generation runs on
    // the loop, and turns started back to back from here would keep every other client's
    // request waiting until the queue is empty.
    setImmediate(() => this.#pump());
  }
}

function cancelled(signal: AbortSignal): RuntimeError {
  return new RuntimeError('REQUEST_CANCELLED', 'the request was cancelled before its policy was used.', { cause: signal.reason });
}
