import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PolicyEvaluator } from '../../src/evaluator/policy-evaluator.js';
import { compileText } from '../support/compile.js';
import { show, words } from '../support/evaluate.js';

const load = (file: string): string => readFileSync(new URL(`./corpus/valid/${file}`, import.meta.url), 'utf8');
const evaluator = (file: string, cpu = 0) =>
  new PolicyEvaluator(compileText(load(file), undefined, file), { cpu, random: () => 4, now: () => 1_000n });

describe('valid policy corpus', () => {
  it('language-tour: switch with fall-through, loops, helpers, a tail call returning DROP, exact literals', () => {
    const e = evaluator('language-tour.ts');
    expect(show(e.evaluate({ payload: words(0, 0), hash: 1 }))).toBe('1'); // GET: (1 * 0x9e3779b9) % 4
    expect(show(e.evaluate({ payload: words(2, 0), hash: 2 }))).toBe('2'); // PUT: (2 * 0x9e3779b9) % 4
    expect(show(e.evaluate({ payload: words(1, 3) }))).toBe('DROP'); // SCAN of user 3, who has no tokens
    e.maps.get('tokens')!.update(3, [2n]);
    expect(show(e.evaluate({ payload: words(1, 3) }))).toBe('1'); // a token taken: user 3 % 2
    expect(e.maps.get('tokens')!.lookup(3)).toEqual([1n]);
    expect(show(e.evaluate({ payload: words(7, 0) }))).toBe('1'); // (112 + 1 + 0) % 4
    expect(show(e.evaluate({ payload: words(5000, 0) }))).toBe('DROP');
    expect(show(e.evaluate({ payload: new Uint8Array(7) }))).toBe('PASS');
    expect(e.maps.get('counters')!.lookup(0)).toEqual([1n]);
    expect(e.maps.get('perCpu')!.lookup(0)).toEqual([6n]);
  });

  it('many-live-values: eleven values survive map calls and an inlined helper', () => {
    const e = evaluator('many-live-values.ts');
    const payload = new Uint8Array(24);
    const view = new DataView(payload.buffer);
    view.setUint32(0, 3);
    view.setUint32(4, 70);
    view.setBigUint64(8, 1n << 63n);
    view.setBigUint64(16, 5n);
    const input = { payload, srcAddr: 10, srcPort: 20, hash: 30 };
    // First call: seen 0 (counters[6] becomes 1), load 0, mixed = 1 ^ (70 * 31 + 20) (counters[6]
    // becomes 21), current = counters[5] = 0.
    const first = (3n + 70n + (1n << 63n) + 5n + 10n + 20n + 30n + 0n + 0n + (1n ^ 2190n) + 0n) % 8n;
    expect(show(e.evaluate(input))).toBe(String(first));
    // Second call: seen 21 (then 22), load 1, mixed = 22 ^ 2190 (counters[6] becomes 42).
    const second = (3n + 70n + (1n << 63n) + 5n + 10n + 20n + 30n + 21n + 1n + (22n ^ 2190n) + 0n) % 8n;
    expect(show(e.evaluate(input))).toBe(String(second));
    expect(e.maps.get('counters')!.lookup(6)).toEqual([42n]);
  });

  it('least-loaded: a thread goes to the least loaded core, its last one on ties', () => {
    const e = evaluator('least-loaded.ts');
    expect(show(e.evaluate({ lastCpu: 2 }))).toBe('2');
    expect(show(e.evaluate({ lastCpu: 2 }))).toBe('0');
    expect(show(e.evaluate({ lastCpu: 6 }))).toBe('1');
    expect(show(e.evaluate({ lastCpu: 3 }))).toBe('3');
    expect(e.maps.get('load')!.lookup(0)).toEqual([1n]);
  });

  it('dns-drop: reads a raw frame and passes frames too short to read', () => {
    const e = evaluator('dns-drop.ts');
    const frame = new Uint8Array(14 + 20 + 8);
    const view = new DataView(frame.buffer);
    view.setUint16(12, 0x0800);
    view.setUint8(14, 0x45);
    view.setUint8(23, 17);
    view.setUint16(14 + 20 + 2, 53);
    expect(show(e.evaluate({ data: frame }))).toBe('DROP');
    view.setUint16(14 + 20 + 2, 54);
    expect(show(e.evaluate({ data: frame }))).toBe('PASS');
    view.setUint16(14 + 20 + 2, 53);
    expect(show(e.evaluate({ data: frame.subarray(0, 37) }))).toBe('PASS');
  });

  it('namespace-import: an arrow schedule through a namespace import, on tcp', () => {
    const e = evaluator('namespace-import.ts');
    expect(show(e.evaluate({ dstPort: 22, hash: 5 }))).toBe('DROP');
    expect(show(e.evaluate({ dstPort: 80, hash: 5 }))).toBe('2');
  });
});
