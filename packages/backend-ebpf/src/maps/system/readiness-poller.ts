import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Fd } from '../../fd.js';
import { EPOLL_EVENT_LAYOUT } from '../../syscalls/native-syscalls.js';
import { Epoll, type Syscalls } from '../../syscalls/syscalls.js';

/** Token of the eventfd that tells the waiting thread to stop. */
const STOP_TOKEN = 0;
const MAX_EVENTS = 64;
/** The waiting thread's name (its `comm` under /proc/<pid>/task). */
export const READINESS_THREAD_NAME = 'syrup-readiness';

/*
 * The waiting thread. Node offers no readiness API for an arbitrary fd (libuv's uv_poll is
 * not exposed), so a worker thread blocks in epoll_wait(-1) and posts the tokens of the fds
 * that became readable. Blocking costs no CPU and keeps the event loop free; the alternative,
 * koffi's async calls, would park a libuv pool thread per wait and starve fs and dns.
 *
 * The source is plain JavaScript evaluated in the worker, so it runs the same from the
 * TypeScript sources and from the built package, and it touches only the raw epoll number
 * the main thread lent it: this thread, not the worker, owns and closes every fd.
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

/** One fd being watched: `arm()` asks for the next readiness, reported once (EPOLLONESHOT). */
export interface ReadinessWatch {
  arm(): void;
  close(): void;
}

type ReadyCallback = (error?: Error) => void;

interface Watched {
  readonly fd: Fd;
  readonly onReady: ReadyCallback;
  readonly keepAlive: boolean;
  armed: boolean;
}

export interface WatchOptions {
  /**
   * Whether an armed watch keeps the process alive (default true: a reader waiting for
   * records is work in progress). False for watches that only observe, such as a target
   * process's pidfd, which must not stop the deploying process from exiting.
   */
  readonly keepAlive?: boolean;
}

/** An epoll set, its stop eventfd and the thread that waits on it; replaced when restarted after going idle. */
interface Generation {
  readonly epoll: Fd;
  readonly wake: Fd;
  readonly worker: Worker;
  readonly watched: Map<number, Watched>;
  exited: boolean;
}

const pollers = new WeakMap<Syscalls, ReadinessPoller>();

/**
 * Tells the main thread when fds become readable, without blocking the event loop and
 * without spinning: one epoll set per syscall layer, waited on by one worker thread that
 * exists only while something is watched. Watches are one-shot, so a consumer drains, then
 * re-arms; re-arming a level-triggered fd that is already readable reports it at once, so no
 * wakeup between the drain and the re-arm is lost. The worker keeps the process alive only
 * while some watch is armed (and was not made with `keepAlive: false`).
 */
export class ReadinessPoller {
  readonly sys: Syscalls;
  #generation: Generation | undefined;
  #nextToken = STOP_TOKEN + 1;
  readonly #stopping = new Set<Promise<void>>();

  private constructor(sys: Syscalls) {
    this.sys = sys;
  }

  /** The poller of a syscall layer, created on first use. */
  static of(sys: Syscalls): ReadinessPoller {
    let poller = pollers.get(sys);
    if (poller === undefined) {
      poller = new ReadinessPoller(sys);
      pollers.set(sys, poller);
    }
    return poller;
  }

  /** Whether the waiting thread is running (for tests of idle behaviour). */
  get active(): boolean {
    return this.#generation !== undefined;
  }

  /**
   * Resolves once every waiting thread told to stop has exited and its fds are closed (a
   * thread's teardown is asynchronous). For tests and orderly shutdown.
   */
  async stopped(): Promise<void> {
    while (this.#stopping.size > 0) await Promise.all([...this.#stopping]);
  }

  /** Watches `fd` for readability; `onReady` runs on the main thread, once per `arm()`. Starts disarmed. */
  watch(fd: Fd, onReady: ReadyCallback, options: WatchOptions = {}): ReadinessWatch {
    const generation = this.#generation ?? this.#start();
    const token = this.#nextToken++;
    const watched: Watched = { fd, onReady, keepAlive: options.keepAlive ?? true, armed: false };
    // Registered with no events: nothing is reported until armed.
    this.sys.epollCtl(generation.epoll, Epoll.CTL_ADD, fd, Epoll.ONESHOT, token);
    generation.watched.set(token, watched);
    let closed = false;
    return {
      arm: () => {
        if (closed || watched.armed) return;
        watched.armed = true;
        this.sys.epollCtl(generation.epoll, Epoll.CTL_MOD, fd, Epoll.IN | Epoll.ONESHOT, token);
        this.#updateRef(generation);
      },
      close: () => {
        if (closed) return;
        closed = true;
        generation.watched.delete(token);
        if (!fd.closed) {
          try {
            this.sys.epollCtl(generation.epoll, Epoll.CTL_DEL, fd, 0, token);
          } catch {
            // Closing the fd removed it from the set already.
          }
        }
        if (generation.watched.size === 0) this.#stop(generation);
        else this.#updateRef(generation);
      },
    };
  }

  #start(): Generation {
    const sys = this.sys;
    const epoll = sys.epollCreate();
    let wake: Fd | undefined;
    try {
      wake = sys.eventfd(0, 0);
      sys.epollCtl(epoll, Epoll.CTL_ADD, wake, Epoll.IN, STOP_TOKEN);
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        // Its thread's name, so an application can find it (to raise its priority with its agent's, say).
        name: READINESS_THREAD_NAME,
        workerData: {
          koffi: createRequire(import.meta.url).resolve('koffi'),
          epfd: epoll.raw,
          stopToken: STOP_TOKEN,
          eventSize: EPOLL_EVENT_LAYOUT.size,
          dataOffset: EPOLL_EVENT_LAYOUT.data,
          maxEvents: MAX_EVENTS,
        },
        // The thread only waits; a small heap is plenty.
        resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      });
      const generation: Generation = { epoll, wake, worker, watched: new Map(), exited: false };
      worker.once('exit', () => {
        generation.exited = true;
      });
      worker.on('message', (message: number[] | { errno: number }) => this.#deliver(generation, message));
      worker.on('error', (error) => this.#fail(generation, error));
      worker.unref();
      this.#generation = generation;
      return generation;
    } catch (error) {
      wake?.close();
      epoll.close();
      throw error;
    }
  }

  #deliver(generation: Generation, message: number[] | { errno: number }): void {
    if (!Array.isArray(message)) {
      this.#fail(generation, new Error(`epoll_wait failed with errno ${message.errno}.`));
      return;
    }
    for (const token of message) {
      const watched = generation.watched.get(token);
      if (watched === undefined || !watched.armed) continue;
      watched.armed = false;
      watched.onReady();
    }
    this.#updateRef(generation);
  }

  #fail(generation: Generation, error: Error): void {
    for (const watched of generation.watched.values()) watched.onReady(error);
    generation.watched.clear();
    this.#stop(generation);
  }

  #updateRef(generation: Generation): void {
    let armed = false;
    for (const watched of generation.watched.values()) armed ||= watched.armed && watched.keepAlive;
    if (armed) generation.worker.ref();
    else generation.worker.unref();
  }

  #stop(generation: Generation): void {
    if (this.#generation === generation) this.#generation = undefined;
    generation.worker.unref();
    const release = (): void => {
      generation.epoll.close();
      generation.wake.close();
    };
    if (generation.exited) {
      release();
      return;
    }
    // The worker may sit in epoll_wait on the set: wake it and close the fds only once it is gone.
    const exited = new Promise<void>((resolve) => {
      generation.worker.once('exit', () => {
        release();
        this.#stopping.delete(exited);
        resolve();
      });
    });
    this.#stopping.add(exited);
    try {
      const one = new Uint8Array(8);
      one[0] = 1;
      this.sys.write(generation.wake, one);
    } catch {
      void generation.worker.terminate();
    }
  }
}
