import { readlinkSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import koffi from 'koffi';
import { kickTransmit, XdpRingPageOffset, XskConsumerRing, XskProducerRing } from '@syrup/backend-ebpf/xsk';
import { Fd, nativeSyscalls } from '@syrup/backend-ebpf/syscalls';
import { HandoffMesh } from './handoff-mesh.js';
import { HandoffRing } from './handoff-ring.js';
import { keyHome } from './key-home.js';
import { payloadOffset, turnAround, VALUE_OFFSET, WORKER_INDEX_OFFSET } from './mica-frame.js';
import { MICA_COUNTERS, MicaCounter, type MicaWorkerInit, type MicaWorkerMessage } from './mica-worker-protocol.js';

/*
 * MICA worker k: owns partition k of the keys (EREW: only this thread reads or writes them)
 * and AF_XDP socket k. It maps the socket's RX and TX rings itself (it is their only user:
 * the kernel produces RX and consumes TX), takes requests off RX, and serves those whose key
 * is at home here by writing the reply over the request in its UMEM frame and putting that
 * frame on its TX ring. In handoff mode a request for another partition goes, as its frame's
 * address, to its home thread through the HandoffMesh, which serves it from there. Frames not
 * transmitted go back to the main thread, which keeps the shared FILL ring stocked and reaps
 * the shared COMPLETION ring (one thread each, so those rings keep one producer/consumer).
 */

const GET = 0;
const PUT = 2;
const BATCH = 64;
/** sendto calls per kick at most: 64 batches of 32 frames, a whole TX ring. */
const KICK_ROUNDS = 64;
/**
 * An idle thread sleeps on its handoff doorbell this long before looking at its RX ring again
 * (a futex cannot also wait for the socket). Short enough to add little to a request's
 * latency, long enough that two idle threads sharing a CPU do not take it from a busy one.
 */
const IDLE_WAIT_MS = 0.5;
/** prctl(PR_SET_TIMERSLACK): the default 50 us slack would stretch every short idle wait. */
const PR_SET_TIMERSLACK = 29;

const port = parentPort;
if (port === null) throw new Error('mica-worker runs only as a worker thread.');
const init = workerData as MicaWorkerInit;
const post = (message: MicaWorkerMessage): void => port.postMessage(message);

try {
  serve(init);
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
}

function serve(init: MicaWorkerInit): void {
  const sys = nativeSyscalls();
  // Borrowed: the main thread owns the fd; this thread gives the number back, never closes it.
  const fd = Fd.adopt(init.fd, sys);
  const rx = XskConsumerRing.map(sys, fd, XdpRingPageOffset.RX, init.rx.offsets, init.rx.size, 'descriptor');
  const tx = XskProducerRing.map(sys, fd, XdpRingPageOffset.TX, init.tx.offsets, init.tx.size, 'descriptor');
  const umem = new Uint8Array(sys.memoryView(init.umemAddress, init.umemLength));
  const mesh = new HandoffMesh(init.mesh);
  const returns = new HandoffRing(init.returns.buffer, 0, init.returns.slots, 8);
  const stop = new Int32Array(init.control, 0, 1);
  const counters = new Float64Array(init.counters, init.index * MICA_COUNTERS * 8, MICA_COUNTERS);
  const values = new Uint8Array(init.keys * init.valueSize);
  for (let key = 0; key < init.keys; key++) {
    // A key's initial value: its 8 big-endian bytes repeated, as the kv server's.
    for (let i = 0; i < init.valueSize; i++) values[key * init.valueSize + i] = Number((BigInt(key) >> BigInt(8 * (7 - (i % 8)))) & 0xffn);
  }
  const handoff = new Uint8Array(8);
  const handoffView = new DataView(handoff.buffer);
  const scratch = new Uint8Array(8);
  const scratchView = new DataView(scratch.buffer);
  let pendingTx = 0;
  const kickOptions = { rounds: KICK_ROUNDS, label: `MICA worker ${init.index}'s socket` };

  setTimerSlack();
  post({ type: 'ready', tid: threadId() });

  const giveBack = (address: number): void => {
    handoffView.setUint32(0, address, true);
    // The main thread drains this ring every millisecond; it holds every frame of the UMEM, so it never fills.
    while (!returns.push(handoff)) Atomics.wait(stop, 0, 0, 0.1);
  };
  const drop = (address: number): void => {
    counters[MicaCounter.DROPPED]!++;
    giveBack(address);
  };

  /** Serves the request in the frame at `address` here (dropping it when it cannot). */
  const serveHere = (address: number, length: number, handedOff: boolean): void => {
    // A received frame starts past the chunk's headroom: the reply may use the rest of the chunk, not more.
    const frame = umem.subarray(address, address + init.frameSize - (address % init.frameSize));
    const payload = payloadOffset(frame, length);
    if (payload < 0) return drop(address);
    const view = new DataView(frame.buffer, frame.byteOffset + payload);
    const type = view.getUint32(0);
    const keyBig = view.getBigUint64(16);
    const key = Number(keyBig % BigInt(init.keys));
    const away = keyHome(keyBig, init.threads) !== init.index;
    const payloadLength = type === GET ? VALUE_OFFSET + init.valueSize : VALUE_OFFSET;
    if ((type !== GET && type !== PUT) || payload + payloadLength > frame.length) return drop(address);
    if (type === GET) {
      frame.set(values.subarray(key * init.valueSize, (key + 1) * init.valueSize), payload + VALUE_OFFSET);
      counters[MicaCounter.GET]!++;
    } else {
      // The value is read before the worker index overwrites its first bytes.
      const valueLength = Math.max(0, Math.min(init.valueSize, length - payload - 24));
      values.set(frame.subarray(payload + 24, payload + 24 + valueLength), key * init.valueSize);
      counters[MicaCounter.PUT]!++;
    }
    view.setUint32(WORKER_INDEX_OFFSET, init.index);
    const replyLength = turnAround(frame, payload, payloadLength);
    if (tx.free(1) === 0) {
      kick();
      if (tx.free(1) === 0) return drop(address);
    }
    tx.setDescriptor(0, address, replyLength);
    tx.submit(1);
    pendingTx++;
    counters[MicaCounter.SERVED]!++;
    if (away) counters[MicaCounter.SERVED_AWAY_FROM_HOME]!++;
    if (handedOff) counters[MicaCounter.SERVED_FOR_OTHERS]!++;
  };

  const kick = (): void => {
    pendingTx = 0;
    // Until the ring is drained: one sendto per loop would leave replies waiting on it whenever a
    // loop took more than the kernel's copy-mode batch of 32. The main thread reaps completions,
    // so a full device queue ends the kick and the rest goes on the next one.
    kickTransmit(sys, fd, tx, kickOptions);
  };

  const onHandoff = (bytes: Uint8Array): void => {
    scratch.set(bytes);
    serveHere(scratchView.getUint32(0, true), scratchView.getUint32(4, true), true);
  };

  try {
    while (Atomics.load(stop, 0) === 0) {
      const count = rx.available(BATCH);
      for (let i = 0; i < count; i++) {
        const address = rx.address(i);
        const length = rx.length(i);
        counters[MicaCounter.RECEIVED]!++;
        if (init.mode === 'handoff') {
          const frame = umem.subarray(address, address + init.frameSize - (address % init.frameSize));
          const payload = payloadOffset(frame, length);
          if (payload < 0) {
            drop(address);
            continue;
          }
          const home = keyHome(new DataView(frame.buffer, frame.byteOffset + payload).getBigUint64(16), init.threads);
          if (home !== init.index) {
            handoffView.setUint32(0, address, true);
            handoffView.setUint32(4, length, true);
            if (mesh.send(init.index, home, handoff)) counters[MicaCounter.HANDED_OFF]!++;
            else drop(address);
            continue;
          }
        }
        serveHere(address, length, false);
      }
      if (count > 0) rx.release(count);
      const seen = mesh.doorbell(init.index);
      const handed = mesh.receive(init.index, scratch, onHandoff);
      if (pendingTx > 0) kick();
      if (count === 0 && handed === 0 && rx.available(1) === 0) mesh.wait(init.index, seen, IDLE_WAIT_MS);
    }
    kick();
  } finally {
    rx.unmap();
    tx.unmap();
    fd.disown();
  }
}

function setTimerSlack(): void {
  const prctl = koffi.load('libc.so.6').func('int prctl(int option, unsigned long a, unsigned long b, unsigned long c, unsigned long d)') as (...args: number[]) => number;
  prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
}

/** This thread's kernel id, for the CPU share the server reports (/proc/self/task/<tid>). */
function threadId(): number {
  return Number(readlinkSync('/proc/thread-self').split('/').at(-1));
}
