/**
 * How long a worker sleeps after marking a SCAN: long enough that the wait really blocks (a
 * wait whose deadline passes before the kernel arms its timer returns without sleeping).
 */
const ANNOUNCEMENT_SLEEP_MS = 0.05;

/**
 * Lets a thread policy's agent hear that this worker started or ended a SCAN. A stock kernel
 * reports nothing about a running thread whose class changed (its `busy` entry just became
 * non-zero, or zero again), and the agent asks its policy only when it hears of a change; so
 * right after marking busy, and right after clearing it, the worker sleeps for a moment: its
 * wakeup wakes the agent (the thread hook's `wakeOn: 'wakeup'`), which asks the policy again;
 * get-priority then defers the worker for the SCAN, and runs it ahead again after. The sleep
 * waits on the server's stop word, like a `block:` service time, so a stop cuts it short.
 */
export class ScanAnnouncement {
  readonly #stop: Int32Array;

  constructor(control: SharedArrayBuffer) {
    this.#stop = new Int32Array(control, 0, 1);
  }

  announce(): void {
    Atomics.wait(this.#stop, 0, 0, ANNOUNCEMENT_SLEEP_MS);
  }
}
