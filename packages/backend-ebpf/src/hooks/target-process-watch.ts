import type { Fd } from '../fd.js';
import { ReadinessPoller, type ReadinessWatch } from '../readiness/readiness-poller.js';
import type { Syscalls } from '../syscalls/syscalls.js';

/**
 * The process a deployment's executors belong to, followed through a pidfd it owns (which,
 * unlike the pid, cannot name another process after a reuse): listeners hear once, on the
 * main thread, when it exits. The watch does not keep this process alive; `close()` ends it
 * and closes the pidfd, after which no listener is called.
 */
export class TargetProcessWatch implements Disposable {
  readonly #pidfd: Fd;
  readonly #sys: Syscalls;
  #watch: ReadinessWatch | undefined;
  #listeners: (() => void)[] = [];
  #exited = false;
  #closed = false;

  /** Takes ownership of `pidfd`. */
  constructor(pidfd: Fd, sys: Syscalls) {
    this.#pidfd = pidfd;
    this.#sys = sys;
  }

  onExit(listener: () => void): void {
    if (this.#closed || this.#exited) return;
    this.#listeners.push(listener);
    if (this.#watch !== undefined) return;
    this.#watch = ReadinessPoller.of(this.#sys).watch(this.#pidfd, (error) => this.#fired(error), { keepAlive: false });
    this.#watch.arm();
  }

  #fired(error?: Error): void {
    this.#stop();
    // The poller's thread failed: whether the process exited is unknown, so nothing is reported.
    if (error !== undefined || this.#closed) return;
    this.#exited = true;
    for (const listener of this.#listeners.splice(0)) listener();
  }

  #stop(): void {
    const watch = this.#watch;
    this.#watch = undefined;
    watch?.close();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners = [];
    this.#stop();
    this.#pidfd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
