import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { once } from 'node:events';
import { BusyMark } from './busy-mark.js';
import { HEADER_BYTES, RequestType } from '../wire/request-header.js';
import { VALUE_OFFSET, WORKER_INDEX_OFFSET, type RequestStore } from './request-store.js';
import { ScanAnnouncement } from './scan-announcement.js';
import { ServiceTimer } from './service-timer.js';
import { SyntheticStore } from './synthetic-store.js';
import { UdpEndpoint } from './udp-endpoint.js';
import { COUNTERS_PER_WORKER, CounterSlot, type WorkerInit, type WorkerMessage, type WorkerStart } from './worker-protocol.js';

/*
 * Worker k of the key-value server: a thread-per-socket loop like RocksDB's server threads.
 * It tells the main thread its thread id, takes the start message (what the deployed policies
 * ask of it), then blocks in recvfrom on socket k, serves the request, replies from the same
 * socket, and looks at the stop word between requests (SO_RCVTIMEO bounds an idle wait).
 */

const PACKET_BYTES = 65_536;
/** prctl(PR_SET_TIMERSLACK): the default 50 us slack would stretch every short `block:` sleep. */
const PR_SET_TIMERSLACK = 29;
/** How often a store that needs its event loop (lmdb-js) gets a turn, in ms. */
const EVENT_LOOP_TURN_MS = 2;

const port = parentPort;
if (port === null) throw new Error('udp-worker runs only as a worker thread.');
const init = workerData as WorkerInit;
const post = (message: WorkerMessage): void => port.postMessage(message);

try {
  await serve(init);
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}

async function serve(init: WorkerInit): Promise<void> {
  const libc = koffi.load('libc.so.6');
  const prctl = libc.func('int prctl(int option, unsigned long a, unsigned long b, unsigned long c, unsigned long d)') as (...args: number[]) => number;
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
  const starting = once(port!, 'message');
  post({ type: 'thread', tid: (libc.func('int gettid()') as () => number)() });
  const [start] = (await starting) as [WorkerStart];

  const packet = new ArrayBuffer(PACKET_BYTES);
  const view = new DataView(packet);
  const endpoint = new UdpEndpoint(init.fd, packet);
  const timer = new ServiceTimer(init.control);
  const stop = new Int32Array(init.control, 0, 1);
  const counters = new Float64Array(init.counters, init.index * COUNTERS_PER_WORKER * 8, COUNTERS_PER_WORKER);
  // lmdb (a native addon) is loaded only by workers that use it.
  const store: RequestStore =
    init.store.kind === 'lmdb'
      ? new (await import('./lmdb-request-store.js')).LmdbRequestStore(packet, init.store.path, init.store.scanLength)
      : new SyntheticStore(packet, init.store.valueSize, init.store.scanLength);
  const { get: getTime, scan: scanTime, put: putTime } = init.times;
  const needsEventLoop = store.needsEventLoop;
  const announcement = start.announceScans ? new ScanAnnouncement(init.control) : undefined;
  let busy: BusyMark | undefined;
  try {
    busy = start.busyMap === undefined ? undefined : BusyMark.open(start.busyMap, init.index);
  } catch (error) {
    store.close();
    throw error;
  }
  let lastTurn = performance.now();

  post({ type: 'ready' });
  try {
    while (Atomics.load(stop, 0) === 0) {
      if (needsEventLoop && performance.now() - lastTurn >= EVENT_LOOP_TURN_MS) {
        await eventLoopTurn();
        lastTurn = performance.now();
      }
      const length = endpoint.receive();
      if (length < 0) continue;
      if (length < HEADER_BYTES) {
        bump(counters, CounterSlot.IGNORED);
        continue;
      }
      const type = view.getUint32(0);
      let replyLength: number;
      if (type === RequestType.GET) {
        timer.serve(getTime);
        replyLength = VALUE_OFFSET + store.get();
        bump(counters, CounterSlot.GET);
      } else if (type === RequestType.SCAN) {
        // Marked by this thread before the service starts, so no GET steered meanwhile lands here.
        busy?.started();
        try {
          announcement?.announce();
          timer.serve(scanTime);
          view.setUint32(VALUE_OFFSET, store.scan());
        } finally {
          busy?.finished();
        }
        // Run ahead again now, not at the next wakeup: the requests queued meanwhile are GETs too.
        announcement?.announce();
        replyLength = VALUE_OFFSET + 4;
        bump(counters, CounterSlot.SCAN);
      } else if (type === RequestType.PUT) {
        timer.serve(putTime);
        // The value is read before the worker index overwrites its first bytes.
        store.put(length);
        replyLength = VALUE_OFFSET;
        bump(counters, CounterSlot.PUT);
      } else {
        bump(counters, CounterSlot.IGNORED);
        continue;
      }
      view.setUint32(WORKER_INDEX_OFFSET, init.index);
      endpoint.reply(replyLength);
      bump(counters, CounterSlot.SERVED);
    }
  } finally {
    busy?.close();
    store.close();
  }
}

/** Counters live in shared memory so the main thread can read them after the worker exits; only this thread writes its own. */
function bump(counters: Float64Array, slot: number): void {
  counters[slot] = (counters[slot] as number) + 1;
}

/**
 * Two setImmediate hops: the loop passes its timers phase between them, so timers that are
 * due (lmdb-js's read-transaction resets) run, at a cost of microseconds.
 */
async function eventLoopTurn(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
}
