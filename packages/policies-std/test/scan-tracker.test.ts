import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ScanTracker, standardPolicyPath } from '../src/index.js';
import { ARRAY_64, memoryMap, slow, withoutAtomics } from './support/maps.js';
import { compilePolicy, PolicyEvaluator, type PolicyDecision } from './support/syrup.js';

const counts = async (tracker: { executors: number }, map: { get(k: number): Promise<bigint> }): Promise<bigint[]> => {
  const out: bigint[] = [];
  for (let e = 0; e < tracker.executors; e++) out.push(await map.get(e));
  return out;
};

describe('ScanTracker', () => {
  it('counts the SCANs each executor serves, and never goes below 0', async () => {
    const { map } = memoryMap(ARRAY_64, 'busy');
    const tracker = new ScanTracker(map, 4);
    await tracker.scanStarted(2);
    await tracker.scanStarted(2);
    await tracker.scanStarted(0);
    expect(await counts(tracker, map)).toEqual([1n, 0n, 2n, 0n]);
    // Two overlapping SCANs on socket 2: the first finish leaves it busy.
    await tracker.scanFinished(2);
    expect(await map.get(2)).toBe(1n);
    await tracker.scanFinished(2);
    await tracker.scanFinished(2);
    await tracker.scanFinished(3);
    expect(await counts(tracker, map)).toEqual([1n, 0n, 0n, 0n]);
    await tracker.scanStarted(1);
    await tracker.reset();
    expect(await counts(tracker, map)).toEqual([0n, 0n, 0n, 0n]);
  });

  it('keeps scan-avoid\'s GETs off the executor it marks busy, until the SCAN finishes', async () => {
    const { store, map } = memoryMap(ARRAY_64, 'busy');
    const { ir } = compilePolicy({ fileName: 'scan-avoid.ts', text: readFileSync(standardPolicyPath('scan-avoid'), 'utf8') }, { params: { SOCKETS: 4 } });
    const evaluator = new PolicyEvaluator(ir, { maps: { busy: store } });
    const get = new Uint8Array(24);
    const decide = (times: number): string[] =>
      Array.from({ length: times }, () => {
        const d: PolicyDecision = evaluator.evaluate({ payload: get });
        return d.kind === 'executor' ? String(d.key) : d.kind;
      });
    const tracker = new ScanTracker(map, 4);
    await tracker.scanStarted(2);
    expect(decide(8)).not.toContain('2');
    await tracker.scanFinished(2);
    expect(decide(4)).toContain('2');
  });

  it('falls back to get and set on a map that refuses atomics, with the same counts', async () => {
    const { map } = memoryMap(ARRAY_64, 'busy');
    const tracker = new ScanTracker(withoutAtomics(map), 3);
    await tracker.scanStarted(1);
    await tracker.scanStarted(1);
    await tracker.scanFinished(1);
    await tracker.scanFinished(0);
    expect(await counts(tracker, map)).toEqual([0n, 1n, 0n]);
  });

  it.each([
    ['an atomic', (m: ReturnType<typeof memoryMap>['map']) => slow(m)],
    ['a non-atomic', (m: ReturnType<typeof memoryMap>['map']) => slow(withoutAtomics(m))],
  ])('applies concurrent calls in call order on %s map with latency (no lost update, no finish before its start)', async (_, wrap) => {
    const { map } = memoryMap(ARRAY_64, 'busy');
    const tracker = new ScanTracker(wrap(map), 2);
    // Not awaited one by one: a get-then-set pair of one call would otherwise interleave with another's.
    await Promise.all([tracker.scanStarted(0), tracker.scanStarted(0), tracker.scanStarted(1), tracker.scanFinished(1), tracker.scanStarted(0)]);
    expect(await counts(tracker, map)).toEqual([3n, 0n]);
    await Promise.all([tracker.scanFinished(0), tracker.scanFinished(0), tracker.scanFinished(0), tracker.scanFinished(0)]);
    expect(await counts(tracker, map)).toEqual([0n, 0n]);
  });

  it('refuses executors outside the map or the tracker with stable codes', async () => {
    const { map } = memoryMap(ARRAY_64, 'busy');
    for (const executors of [0, 65, 1.5, Number.NaN]) {
      expect(() => new ScanTracker(map, executors)).toThrow(expect.objectContaining({ code: 'COMPANION_OPTIONS_INVALID' }));
    }
    const { map: perCpu } = memoryMap({ kind: 'percpu-array', key: 'u32', value: 'u64', maxEntries: 64 }, 'busy');
    expect(() => new ScanTracker(perCpu, 4)).toThrow(expect.objectContaining({ code: 'COMPANION_OPTIONS_INVALID' }));
    const tracker = new ScanTracker(map, 64);
    await expect(tracker.scanStarted(64)).rejects.toMatchObject({ code: 'COMPANION_EXECUTOR_INVALID' });
    await expect(tracker.scanFinished(-1)).rejects.toMatchObject({ code: 'COMPANION_EXECUTOR_INVALID' });
    await tracker.scanStarted(63);
    expect(await map.get(63)).toBe(1n);
  });

  it('passes map failures through with the map\'s own code, and a failed call does not hold up the next', async () => {
    const { store, map } = memoryMap(ARRAY_64, 'busy');
    const tracker = new ScanTracker(map, 2);
    store.close();
    await expect(tracker.scanStarted(0)).rejects.toMatchObject({ code: 'MAP_CLOSED' });
    await expect(tracker.reset()).rejects.toMatchObject({ code: 'MAP_CLOSED' });
  });
});
