import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { HandoffMesh } from '../src/mica/handoff-mesh.js';
import { HandoffRing } from '../src/mica/handoff-ring.js';

const WORKER = new URL('./support/handoff-worker.mjs', import.meta.url);

describe('handoff ring', () => {
  it('hands requests over in order, refuses when full, wraps around, and keeps its high water', () => {
    const buffer = new SharedArrayBuffer(HandoffRing.bytesFor(4, 8));
    const producer = new HandoffRing(buffer, 0, 4, 8);
    const consumer = new HandoffRing(buffer, 0, 4, 8);
    const out = new Uint8Array(8);
    expect(consumer.pop(out)).toBe(-1);
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) expect(producer.push(Uint8Array.of(round, i, 7))).toBe(true);
      expect(producer.push(Uint8Array.of(9))).toBe(false);
      expect(consumer.depth).toBe(4);
      for (let i = 0; i < 4; i++) {
        expect(consumer.pop(out)).toBe(3);
        expect([...out.subarray(0, 3)]).toEqual([round, i, 7]);
      }
      expect(consumer.pop(out)).toBe(-1);
    }
    expect(consumer.highWater).toBe(4);
    expect(() => producer.push(new Uint8Array(9))).toThrow(/does not fit a handoff slot of 8/);
    expect(() => new HandoffRing(buffer, 0, 3, 8)).toThrow(RangeError);
    expect(() => new HandoffRing(buffer, 8, 4, 8)).toThrow(/does not fit at offset 8/);
  });

  it('between real threads, serves every handed-off request exactly once, at the thread it was sent to', async () => {
    // Small rings, so the senders meet full rings and retry: nothing may be lost or doubled then either.
    const threads = 3;
    const count = 20_000;
    const mesh = HandoffMesh.create(threads, 64, 16);
    const results = await Promise.all(
      Array.from({ length: threads }, (_, thread) => {
        const worker = new Worker(WORKER, { workerData: { layout: mesh.layout, thread, count, expected: count } });
        return new Promise<{ received: number[]; retries: number }>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`handoff worker ${thread} exited with ${code} before reporting`)));
        }).finally(() => void worker.terminate());
      }),
    );
    for (let thread = 0; thread < threads; thread++) {
      const got = results[thread]!.received;
      expect(got).toHaveLength(count);
      expect(new Set(got).size).toBe(count);
      // Each id names its sender and index; thread t sent its i-th request to (t + 1 + i % 2) % 3.
      for (const entry of got) {
        const from = entry % 16;
        const id = Math.floor(entry / 16);
        expect(Math.floor(id / 1_000_000)).toBe(from);
        expect((from + 1 + ((id % 1_000_000) % (threads - 1))) % threads).toBe(thread);
      }
    }
    // Every request sent was received once in all: 3 x 20000 distinct ids.
    expect(new Set(results.flatMap((r) => r.received)).size).toBe(threads * count);
    for (let thread = 0; thread < threads; thread++) {
      expect(mesh.depth(thread)).toBe(0);
      expect(mesh.highWater(thread)).toBeGreaterThan(0);
    }
  }, 60_000);
});
