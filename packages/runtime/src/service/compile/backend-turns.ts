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
  readonly cancel: (error: Error) => void;
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
  /** Turns taken from the queue while their uid already ran one: they wait for that uid's turn to end. */
  readonly #parked = new Map<number, Turn[]>();
  #active = 0;

  constructor(slots: number = DEFAULT_BACKEND_SLOTS) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`backend slots must be a positive integer, not ${String(slots)}.`);
    this.#slots = slots;
  }

  /** Turns `uid` has waiting or running. */
  heldBy(uid: number): number {
    return this.#queue.sizeOf(uid) + (this.#parked.get(uid)?.length ?? 0) + (this.#running.get(uid) ?? 0);
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
        if (signal !== undefined && this.#withdraw(turn)) reject(cancelled(signal));
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
        cancel: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(uid, turn);
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#active < this.#slots) {
      const turn = this.#next();
      if (turn === undefined) return;
      this.#active++;
      this.#running.set(turn.uid, 1);
      turn.start();
    }
  }

  /** The next turn whose uid runs none: a parked one first (it was its uid's turn already), else round robin. */
  #next(): Turn | undefined {
    for (const [uid, parked] of this.#parked) {
      if (this.#running.has(uid)) continue;
      const turn = parked.shift() as Turn;
      if (parked.length === 0) this.#parked.delete(uid);
      return turn;
    }
    for (;;) {
      const turn = this.#queue.shift();
      if (turn === undefined) return undefined;
      if (!this.#running.has(turn.uid)) return turn;
      // Its uid is busy: it keeps its place ahead of that uid's later turns without taking a slot.
      const parked = this.#parked.get(turn.uid);
      if (parked === undefined) this.#parked.set(turn.uid, [turn]);
      else parked.push(turn);
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

  /** Takes a waiting turn out; false once it has started. */
  #withdraw(turn: Turn): boolean {
    if (this.#queue.remove(turn.uid, turn)) return true;
    const parked = this.#parked.get(turn.uid);
    const index = parked?.indexOf(turn) ?? -1;
    if (parked === undefined || index === -1) return false;
    parked.splice(index, 1);
    if (parked.length === 0) this.#parked.delete(turn.uid);
    return true;
  }
}

function cancelled(signal: AbortSignal): RuntimeError {
  return new RuntimeError('REQUEST_CANCELLED', 'the request was cancelled before its policy was used.', { cause: signal.reason });
}
