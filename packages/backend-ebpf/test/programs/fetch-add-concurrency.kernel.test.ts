import { fileURLToPath } from 'node:url';
import type { Worker } from 'node:worker_threads';
import { expect, it } from 'vitest';
import { KernelDataMapStore } from '../../src/maps/kernel-data-map-store.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { firstMessage, startTsWorker } from '../support/ts-process.js';
import { exit, Mov, R0 } from '../../src/asm/index.js';
import { ProgramError } from '../../src/programs/program-error.js';
import { isSyscallError } from '../../src/errors/syscall-error.js';
import { addOne, frame, loadXdp, XDP_PASS } from '../support/xdp-programs.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../support/fixtures/${name}`, import.meta.url));

describeKernel('fetchAdd against a kernel program', { needs: ['bpf'] }, () => {
  it('loses no increment: four worker threads and an XDP program add to one mmapped value at once', async () => {
    using store = KernelDataMapStore.create({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 }, { name: 'shared', mmapable: true });
    // Adds 1 to the contended slot 2 and counts its own runs in slot 3: a test run interrupted by
    // a signal (EINTR) stops after an unknown number of repetitions, so the kernel keeps the tally.
    using program = loadXdp('xadd', [...addOne(2), ...addOne(3), Mov.imm(R0, XDP_PASS), exit()], { counters: store.kernelMap });
    // Few calls with many repetitions: every XDP test run with repeat > 1 swaps the XDP
    // dispatcher (bpf_prog_change_xdp), which costs milliseconds per call.
    const iterations = 1_000_000;
    const kernelCalls = 8;
    const repeat = 125_000;
    const start = new SharedArrayBuffer(4);
    const workers: Worker[] = [];
    try {
      for (let i = 0; i < 4; i++) {
        workers.push(startTsWorker(fixture('fetch-add-worker.ts'), { fd: store.kernelMap.fd.dup().disown(), key: 2, iterations, start }));
      }
      const ready = await Promise.all(workers.map((w) => firstMessage<{ atomic: boolean }>(w)));
      expect(ready.every((r) => r.atomic)).toBe(true);
      const done = Promise.all(workers.map((w) => firstMessage(w)));
      Atomics.store(new Int32Array(start), 0, 1);
      Atomics.notify(new Int32Array(start), 0);
      // The kernel side runs on this thread while the workers add on theirs.
      const runner = program.testRunner();
      const packet = frame([]);
      const before = store.values[2] as bigint;
      for (let i = 0; i < kernelCalls; i++) {
        try {
          runner.run(packet, { repeat });
        } catch (error) {
          if (!(error instanceof ProgramError && isSyscallError(error.cause, 'EINTR'))) throw error;
        }
      }
      const duringKernel = (store.values[2] as bigint) - before;
      await done;
      // Some worker increments landed while the kernel loop ran, so the two really raced.
      expect(duringKernel).toBeGreaterThan(store.values[3] as bigint);
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
    const kernelRuns = store.lookup(3)?.[0] ?? 0n;
    expect(kernelRuns).toBeGreaterThan(BigInt((kernelCalls * repeat) / 2));
    const expected = BigInt(4 * iterations) + kernelRuns;
    expect(store.lookup(2)).toEqual([expected]);
    expect(store.fetchAdd(2, 0n)).toBe(expected);
  }, 120_000);
});
