import { KernelDataMapStore, KernelMap } from '@syrup/backend-ebpf/maps';
import { Fd, nativeSyscalls } from '@syrup/backend-ebpf/syscalls';

/**
 * A worker's own handle on scan-avoid's `busy` array, to mark its socket busy with a SCAN from
 * the thread that serves it, before serving it, so the mark is in the kernel map by the time
 * the SCAN's service begins (marks made by the main thread from worker messages came tens of
 * microseconds later, with a millisecond tail on busy CPUs, and GETs meanwhile went to the
 * socket holding the SCAN).
 *
 * The map is mmapped into this process: `Atomics.add`/`Atomics.sub` on its value are atomic
 * against the policy's reads and against other threads' marks. Entry `index` counts the
 * SCANs worker `index` is serving (the policy only asks whether it is 0); only that worker
 * changes it, and every `started` is followed by one `finished`, so it never goes below 0.
 */
export class BusyMark implements Disposable {
  readonly index: number;
  readonly #store: KernelDataMapStore;
  readonly #values: BigUint64Array;

  private constructor(store: KernelDataMapStore, index: number) {
    this.#store = store;
    this.#values = store.values;
    this.index = index;
  }

  /**
   * Maps the array behind `fd` (a number another thread of this process owns; it is
   * duplicated, so this handle is closed on its own) for worker `index`.
   */
  static open(fd: number, index: number): BusyMark {
    const sys = nativeSyscalls();
    const store = KernelDataMapStore.fromKernelMap(KernelMap.fromFd(Fd.adopt(sys.dupFd(fd, 1), sys)), { name: 'busy' });
    try {
      if (!Number.isInteger(index) || index < 0 || index >= store.spec.maxEntries) {
        throw new RangeError(`worker ${index} has no entry in the busy map of ${store.spec.maxEntries} entries.`);
      }
      return new BusyMark(store, index);
    } catch (error) {
      store.close();
      throw error;
    }
  }

  /** This worker starts serving a SCAN. */
  started(): void {
    Atomics.add(this.#values, this.index, 1n);
  }

  /** This worker finished the SCAN it marked. */
  finished(): void {
    Atomics.sub(this.#values, this.index, 1n);
  }

  close(): void {
    this.#store.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
