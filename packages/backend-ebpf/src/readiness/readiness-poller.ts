import type { Fd } from '../fd.js';
import { Epoll, type EpollWaitThread, type Syscalls } from '../syscalls/syscalls.js';

/** Token of the eventfd that tells the waiting thread to stop. */
const STOP_TOKEN = 0;
/** The waiting thread's name (its `comm` under /proc/<pid>/task), so an application can find it. */
export const READINESS_THREAD_NAME = 'syrup-readiness';

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
  readonly thread: EpollWaitThread;
  readonly watched: Map<number, Watched>;
  ended: boolean;
}

const pollers = new WeakMap<Syscalls, ReadinessPoller>();

/**
 * Tells the main thread when fds become readable, without blocking the event loop and
 * without spinning: one epoll set per syscall layer, waited on by one thread the layer starts
 * (`epollWaitThread`: natively a worker blocked in epoll_wait) that exists only while something
 * is watched. Watches are one-shot, so a consumer drains, then re-arms; re-arming a
 * level-triggered fd that is already readable reports it at once, so no wakeup between the
 * drain and the re-arm is lost. The thread keeps the process alive only
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
      // The thread reports only after this turn, once `generation` is assigned.
      const thread = sys.epollWaitThread(
        epoll,
        STOP_TOKEN,
        {
          ready: (tokens) => this.#deliver(generation, tokens),
          failed: (error) => this.#fail(generation, error),
        },
        READINESS_THREAD_NAME,
      );
      const generation: Generation = { epoll, wake, thread, watched: new Map(), ended: false };
      void thread.ended.then(() => {
        generation.ended = true;
      });
      this.#generation = generation;
      return generation;
    } catch (error) {
      wake?.close();
      epoll.close();
      throw error;
    }
  }

  #deliver(generation: Generation, tokens: readonly number[]): void {
    for (const token of tokens) {
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
    generation.thread.keepAlive(armed);
  }

  #stop(generation: Generation): void {
    if (this.#generation === generation) this.#generation = undefined;
    generation.thread.keepAlive(false);
    const release = (): void => {
      generation.epoll.close();
      generation.wake.close();
    };
    if (generation.ended) {
      release();
      return;
    }
    // The thread may sit in epoll_wait on the set: wake it and close the fds only once it is gone.
    const ended = generation.thread.ended.then(() => {
      release();
      this.#stopping.delete(ended);
    });
    this.#stopping.add(ended);
    try {
      const one = new Uint8Array(8);
      one[0] = 1;
      this.sys.write(generation.wake, one);
    } catch {
      generation.thread.terminate();
    }
  }
}
