import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Fd } from '../fd.js';
import type { EpollWaitListener, EpollWaitThread } from './os-syscalls.js';

/** Ready fds one epoll_wait reports at most; more wait for the next one. */
const MAX_EVENTS = 64;

/*
 * The waiting thread. Node offers no readiness API for an arbitrary fd (libuv's uv_poll is
 * not exposed), so a worker thread blocks in epoll_wait(-1) and posts the tokens of the fds
 * that became readable. Blocking costs no CPU and keeps the event loop free; the alternative,
 * koffi's async calls, would park a libuv pool thread per wait and starve fs and dns.
 *
 * The source is plain JavaScript evaluated in the worker, so it runs the same from the
 * TypeScript sources and from the built package, and it touches only the raw epoll number
 * the main thread lent it: the main thread, not the worker, owns and closes every fd.
 */
const WORKER_SOURCE = `
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const koffi = require(workerData.koffi);
const epollWait = koffi.load('libc.so.6').func('int epoll_wait(int epfd, void *events, int maxevents, int timeout)');
const { epfd, stopToken, eventSize, dataOffset, maxEvents } = workerData;
const events = Buffer.alloc(eventSize * maxEvents);
for (;;) {
  const n = epollWait(epfd, events, maxEvents, -1);
  if (n < 0) {
    const errno = koffi.errno();
    if (errno === 4) continue;
    parentPort.postMessage({ errno });
    break;
  }
  const tokens = [];
  let stop = false;
  for (let i = 0; i < n; i++) {
    const token = events.readUInt32LE(i * eventSize + dataOffset);
    if (token === stopToken) stop = true;
    else tokens.push(token);
  }
  if (tokens.length > 0) parentPort.postMessage(tokens);
  if (stop) break;
}
`;

/** Where epoll_wait writes an event's data in `struct epoll_event` on this architecture. */
export interface EpollEventLayout {
  readonly size: number;
  readonly data: number;
}

/** The native `OsSyscalls.epollWaitThread`: a worker thread that calls epoll_wait itself. */
export function startEpollWaitThread(epoll: Fd, stopToken: number, layout: EpollEventLayout, listener: EpollWaitListener, threadName?: string): EpollWaitThread {
  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    ...(threadName !== undefined ? { name: threadName } : {}),
    workerData: {
      koffi: createRequire(import.meta.url).resolve('koffi'),
      epfd: epoll.raw,
      stopToken,
      eventSize: layout.size,
      dataOffset: layout.data,
      maxEvents: MAX_EVENTS,
    },
    // The thread only waits; a small heap is plenty.
    resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
  });
  const ended = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.on('message', (message: number[] | { errno: number }) => {
    if (Array.isArray(message)) listener.ready(message);
    else listener.failed(new Error(`epoll_wait failed with errno ${message.errno}.`));
  });
  worker.on('error', (error) => listener.failed(error));
  worker.unref();
  return {
    ended,
    keepAlive: (keep) => {
      if (keep) worker.ref();
      else worker.unref();
    },
    terminate: () => void worker.terminate(),
  };
}
