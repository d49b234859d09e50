import type { ServiceTime } from './service-time.js';

/** What worker k's store is: made-up service times only, or an LMDB environment at `path`. */
export type WorkerStore =
  | { readonly kind: 'synthetic'; readonly valueSize: number; readonly scanLength: number }
  | { readonly kind: 'lmdb'; readonly path: string; readonly valueSize: number; readonly scanLength: number };

/** `workerData` of a worker thread. Plain data only: it crosses the thread boundary by structured clone. */
export interface WorkerInit {
  readonly index: number;
  /** The raw fd of socket k; the main thread owns it and closes it only after the worker exited. */
  readonly fd: number;
  readonly store: WorkerStore;
  readonly times: { readonly get: ServiceTime; readonly scan: ServiceTime; readonly put: ServiceTime };
  /** Int32 word 0: 0 while running, 1 once asked to stop; blocking waits sleep on it so a stop wakes them. */
  readonly control: SharedArrayBuffer;
  /** Float64 counters, COUNTERS_PER_WORKER per worker (see CounterSlot); each worker writes only its own. */
  readonly counters: SharedArrayBuffer;
}

export const CounterSlot = { SERVED: 0, GET: 1, SCAN: 2, PUT: 3, IGNORED: 4 } as const;
export const COUNTERS_PER_WORKER = 5;

/**
 * The main thread's one message to a worker, once it told its thread id: what the policies
 * deployed for the workers (a thread policy needs their ids first) ask of it. Then it serves.
 */
export interface WorkerStart {
  /**
   * The policies' `busy` array (scan-avoid's, get-priority's) as a raw map fd the main thread
   * owns (closed only after the worker exited): the worker marks its own entry around each
   * SCAN it serves (see BusyMark).
   */
  readonly busyMap: number | undefined;
  /** A thread policy runs over the workers: after marking a SCAN, the worker lets its agent hear of it (see ScanAnnouncement). */
  readonly announceScans: boolean;
}

/** Messages from a worker to the main thread. */
export type WorkerMessage =
  | { readonly type: 'thread'; readonly tid: number }
  | { readonly type: 'ready' }
  | { readonly type: 'failed'; readonly message: string };
