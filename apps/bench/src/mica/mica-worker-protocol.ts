import type { XskRingOffsets } from '@syrup/backend-ebpf/xsk';
import type { HandoffMeshLayout } from './handoff-mesh.js';

/**
 * How requests reach their home thread: `key-hash` (Syrup: the XDP policy steers each request
 * to its key's home socket, so every thread serves what it receives) or `handoff` (MICA's own
 * way: requests arrive round robin and a thread hands one for another partition to its home
 * thread through the HandoffMesh, which replies).
 */
export type MicaMode = 'key-hash' | 'handoff';

/** `workerData` of MICA worker k: plain data only. */
export interface MicaWorkerInit {
  readonly index: number;
  readonly threads: number;
  readonly mode: MicaMode;
  /** Socket k's raw fd (the main thread owns it and closes it after the worker exited) and its ring geometry. */
  readonly fd: number;
  readonly rx: { readonly offsets: XskRingOffsets; readonly size: number };
  readonly tx: { readonly offsets: XskRingOffsets; readonly size: number };
  /** The UMEM's address in this process and its length (every thread of the process sees the same memory). */
  readonly umemAddress: bigint;
  readonly umemLength: number;
  readonly frameSize: number;
  readonly keys: number;
  readonly valueSize: number;
  readonly mesh: HandoffMeshLayout;
  /** Frames this worker is done with and did not transmit, back to the main thread (a HandoffRing of 8-byte entries). */
  readonly returns: { readonly buffer: SharedArrayBuffer; readonly slots: number };
  /** Int32 word 0: 0 while running, 1 once asked to stop. */
  readonly control: SharedArrayBuffer;
  /** Float64 counters, MICA_COUNTERS per worker (see MicaCounter); each worker writes only its own. */
  readonly counters: SharedArrayBuffer;
}

export const MicaCounter = {
  /** Frames taken off this thread's RX ring. */
  RECEIVED: 0,
  /** Requests served (a reply transmitted) by this thread, its own and handed-off ones. */
  SERVED: 1,
  /** Requests this thread received for another partition and handed to its home thread. */
  HANDED_OFF: 2,
  /** Handed-off requests this thread served for others. */
  SERVED_FOR_OTHERS: 3,
  /** Requests dropped: malformed, a full handoff ring or a full TX ring. */
  DROPPED: 4,
  /** Requests served whose key's home is another thread (0 under key-hash when steering is right). */
  SERVED_AWAY_FROM_HOME: 5,
  GET: 6,
  PUT: 7,
} as const;
export const MICA_COUNTERS = 8;

export type MicaWorkerMessage = { readonly type: 'ready'; readonly tid: number } | { readonly type: 'failed'; readonly message: string };
