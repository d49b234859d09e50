import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { HEADER_BYTES } from '../wire/request-header.js';
import type { ArrivalSchedule } from './arrival-schedule.js';
import type { LoadTransport } from './load-transport.js';
import { pinnedBuffer, type PinnedBuffer } from './pinned-buffer.js';

/** Replies carry the serving worker's index as a big-endian u32 right after the echoed header. */
const WORKER_OFFSET = HEADER_BYTES;
export const MAX_WORKERS = 256;
/** The loop yields to the event loop this often, so signals and GC observers get a turn. */
const SLICE_US = 50_000;

export interface OpenLoopOptions {
  /** How long to wait for replies after the last scheduled send before counting the rest as dropped. */
  readonly graceMs: number;
  /** Stops the run early (a signal); the requests not yet sent are then not counted. */
  readonly signal?: AbortSignal;
}

/** Per-request outcome arrays, indexed like the schedule; summarised after the run. */
export interface OpenLoopResult {
  readonly sent: Uint8Array;
  readonly received: Uint8Array;
  /** Reply time minus scheduled send time, microseconds (valid where received). */
  readonly latencyUs: Int32Array;
  /** Actual send time minus scheduled send time, microseconds (valid where sent). */
  readonly latenessUs: Int32Array;
  readonly sendFailures: number;
  /** Datagrams that were not a reply to a request of this run (short, foreign or repeated). */
  readonly strayReplies: number;
  readonly repliesPerWorker: Uint32Array;
  /** Requests actually scheduled before an abort (the schedule's length otherwise). */
  readonly scheduled: number;
  readonly aborted: boolean;
  readonly elapsedMs: number;
}

/**
 * The state of one open-loop run and its synchronous busy-poll slice. A class with small
 * integer fields and a plain method, because V8 optimises that reliably, and because a double
 * that flows around a loop (or lives across an await) gets boxed: a heap allocation per
 * iteration, hence steady minor GCs. The clock is therefore int32 microseconds.
 */
class OpenLoop {
  next = 0;
  outstanding = 0;
  sendFailures = 0;
  strayReplies = 0;
  readonly sent: Uint8Array;
  readonly received: Uint8Array;
  readonly latencyUs: Int32Array;
  readonly latenessUs: Int32Array;
  readonly repliesPerWorker = new Uint32Array(MAX_WORKERS);
  readonly #n: number;
  readonly #timeUs: Int32Array;
  readonly #type: Uint8Array;
  readonly #user: Uint32Array;
  readonly #flow: Uint16Array;
  readonly #key: Uint32Array;
  readonly #transport: LoadTransport;
  readonly #flowBuffers: PinnedBuffer[] = [];
  /** A per-run tag in the high half of the request id rejects datagrams that are not ours. */
  readonly #runTag = (Math.random() * 0xffffffff) >>> 0;
  readonly #endUs: number;
  readonly #start: number;

  constructor(schedule: ArrivalSchedule, transport: LoadTransport, graceMs: number, start: number) {
    const n = schedule.length;
    this.#n = n;
    this.#timeUs = schedule.timeUs;
    this.#type = schedule.type;
    this.#user = schedule.user;
    this.#flow = schedule.flow;
    this.#key = schedule.key;
    this.#transport = transport;
    this.sent = new Uint8Array(n);
    this.received = new Uint8Array(n);
    this.latencyUs = new Int32Array(n);
    this.latenessUs = new Int32Array(n);
    for (let f = 0; f < transport.flows; f++) this.#flowBuffers.push(pinnedBuffer(HEADER_BYTES));
    this.#endUs = (n > 0 ? schedule.timeUs[n - 1]! : 0) + Math.round(graceMs * 1000);
    this.#start = start;
  }

  /** Microseconds since the start, as an int32 (a Smi: never boxed). */
  now(): number {
    return ((performance.now() - this.#start) * 1000) | 0;
  }

  /** Busy-polls until `sliceEndUs`; true once every request is sent and answered or the grace period is over. */
  spin(sliceEndUs: number): boolean {
    const n = this.#n;
    const timeUs = this.#timeUs;
    const transport = this.#transport;
    for (;;) {
      let now = this.now();
      if (this.next < n && timeUs[this.next]! <= now) {
        while (this.next < n && timeUs[this.next]! <= now) this.#send(this.next++, now);
        transport.flush();
      }
      let length = transport.receive();
      if (length >= 0) {
        now = this.now();
        for (; length >= 0; length = transport.receive()) this.#take(length, now);
      }
      if (this.next >= n && (this.outstanding === 0 || now > this.#endUs)) return true;
      if (now >= sliceEndUs) return false;
    }
  }

  #send(i: number, now: number): void {
    const f = this.#flow[i]!;
    const buffer = this.#flowBuffers[f]!;
    const view = buffer.view;
    view.setUint32(0, this.#type[i]!);
    view.setUint32(4, this.#user[i]!);
    view.setUint32(8, this.#runTag);
    view.setUint32(12, i);
    view.setUint32(16, 0);
    view.setUint32(20, this.#key[i]!);
    if (this.#transport.send(f, buffer, HEADER_BYTES)) {
      this.sent[i] = 1;
      this.outstanding++;
    } else {
      this.sendFailures++;
    }
    this.latenessUs[i] = now - this.#timeUs[i]!;
  }

  /** Accounts for one reply of `length` bytes (its payload in the transport's reply view). */
  #take(length: number, now: number): void {
    const view = this.#transport.replyView;
    const at = this.#transport.replyOffset;
    const id = length >= HEADER_BYTES ? view.getUint32(at + 12) : this.#n;
    if (id >= this.#n || view.getUint32(at + 8) !== this.#runTag || this.sent[id] === 0 || this.received[id] === 1) {
      this.strayReplies++;
      return;
    }
    this.received[id] = 1;
    this.latencyUs[id] = now - this.#timeUs[id]!;
    this.outstanding--;
    if (length >= WORKER_OFFSET + 4) {
      const worker = view.getUint32(at + WORKER_OFFSET);
      if (worker < MAX_WORKERS) this.repliesPerWorker[worker]!++;
    }
  }
}

/**
 * The mutilate-style open loop: send each request when the schedule says, whatever the
 * replies are doing, and time each reply from the request's SCHEDULED send time, so a late
 * send (this loop fell behind) still shows as latency instead of being omitted (coordinated
 * omission). Busy-polls in slices; the per-request work touches preallocated typed arrays only.
 */
export async function runOpenLoop(schedule: ArrivalSchedule, transport: LoadTransport, options: OpenLoopOptions): Promise<OpenLoopResult> {
  const start = performance.now();
  const loop = new OpenLoop(schedule, transport, options.graceMs, start);
  let aborted = false;
  while (!loop.spin(loop.now() + SLICE_US)) {
    await yieldToEventLoop();
    if (options.signal?.aborted === true) {
      aborted = true;
      break;
    }
  }
  return {
    sent: loop.sent,
    received: loop.received,
    latencyUs: loop.latencyUs,
    latenessUs: loop.latenessUs,
    sendFailures: loop.sendFailures,
    strayReplies: loop.strayReplies,
    repliesPerWorker: loop.repliesPerWorker,
    scheduled: aborted ? loop.next : schedule.length,
    aborted,
    elapsedMs: performance.now() - start,
  };
}
