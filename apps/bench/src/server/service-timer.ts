import type { ServiceTime } from './service-time.js';

/**
 * Spends a request's service time on a worker thread: `cpu` busy-spins (the thread keeps its
 * CPU, like a store computing), `block` sleeps in Atomics.wait (the thread gives its CPU up,
 * like a store waiting for I/O). The sleep waits on the server's stop word, so a stop cuts
 * it short instead of leaving a worker asleep for the rest of a long service time.
 */
export class ServiceTimer {
  readonly #stop: Int32Array;

  constructor(control: SharedArrayBuffer) {
    this.#stop = new Int32Array(control, 0, 1);
  }

  serve(time: ServiceTime): void {
    if (time.meanUs === 0) return;
    // Exponential by inversion; 1 - random() is in (0, 1], so the log is finite.
    const us = time.distribution === 'fixed' ? time.meanUs : -time.meanUs * Math.log(1 - Math.random());
    if (time.kind === 'cpu') {
      const end = performance.now() + us / 1000;
      while (performance.now() < end) {
        // spin: the point is to hold the CPU
      }
    } else {
      Atomics.wait(this.#stop, 0, 0, us / 1000);
    }
  }
}
