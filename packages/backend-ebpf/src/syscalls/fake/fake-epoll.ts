import { Epoll, type EpollWaitListener, type EpollWaitThread } from '../os-syscalls.js';
import type { FakeObject } from './fake-kernel.js';

/** What epoll_ctl registered for one fd: the events asked for and the token reported for it. */
interface EpollInterest {
  events: number;
  readonly token: number;
}

interface WaitingThread {
  readonly stopToken: number;
  readonly listener: EpollWaitListener;
  readonly end: () => void;
}

/**
 * One epoll set of the fake kernel, level-triggered as the real one: an fd registered for
 * EPOLLIN is reported while it is readable, and an EPOLLONESHOT one only once per arming
 * (epoll_ctl MOD re-arms it). A waiting thread is told on a later turn of the event loop, as a
 * worker's message would arrive, and ends after reporting its stop token.
 */
export class FakeEpollSet {
  readonly interests = new Map<FakeObject, EpollInterest>();
  readonly #readable: ReadonlySet<FakeObject>;
  #thread: WaitingThread | undefined;
  #wakePending = false;

  constructor(readable: ReadonlySet<FakeObject>) {
    this.#readable = readable;
  }

  startThread(stopToken: number, listener: EpollWaitListener): EpollWaitThread {
    let end: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      end = () => {
        if (this.#thread === thread) this.#thread = undefined;
        resolve();
      };
    });
    const thread: WaitingThread = { stopToken, listener, end };
    this.#thread = thread;
    this.wake();
    // Nothing of the model holds the process open, so keeping it alive is the caller's business.
    return { ended, keepAlive: () => undefined, terminate: () => thread.end() };
  }

  /** Schedules one report of what is ready, coalescing the wakes of one turn as epoll_wait does. */
  wake(): void {
    if (this.#thread === undefined || this.#wakePending) return;
    this.#wakePending = true;
    setImmediate(() => {
      this.#wakePending = false;
      this.#report();
    });
  }

  #report(): void {
    const thread = this.#thread;
    if (thread === undefined) return;
    const tokens: number[] = [];
    let stop = false;
    for (const [object, interest] of this.interests) {
      if ((interest.events & Epoll.IN) === 0 || !this.#readable.has(object)) continue;
      if ((interest.events & Epoll.ONESHOT) !== 0) interest.events = Epoll.ONESHOT;
      if (interest.token === thread.stopToken) stop = true;
      else tokens.push(interest.token);
    }
    if (tokens.length > 0) thread.listener.ready(tokens);
    if (stop) thread.end();
  }
}
