import { afterEach, expect, it } from 'vitest';
import { compilePolicy, PolicyEvaluator, type PolicyDecision, type PolicyIr } from '@syrup/core';
import { generateRandomPolicy, SeededRandom } from '@syrup/core/testing';
import { InMemoryDataMapStore, type DataMapStore } from '@syrup/maps';
import { HARNESS_RESULT_KIND, SYSTEM_MAP_NAMES, generateProgram } from '@syrup/backend-ebpf/codegen';
import { loadProgramSpec, type LoadedProgram } from '@syrup/backend-ebpf/loader';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { nfpTestHarnessTarget, validateForNfp } from '../src/index.js';
import { randomFrameCase } from './support/frames.js';

const SENTINEL = 99n;

/** A map's entries as `key=value` strings, in key order. */
function entries(store: DataMapStore): string[] {
  const out: string[] = [];
  for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) out.push(`${key}=${String(store.lookup(key)![0])}`);
  return out.sort();
}

function u32(key: number): Uint8Array {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setUint32(0, key, true);
  return bytes;
}

/** The harness's decision: `.result` key 0 is the kind, key 1 the executor key. */
function decisionOf(loaded: LoadedProgram): PolicyDecision {
  const result = loaded.systemMaps.get(SYSTEM_MAP_NAMES.result)!;
  const read = (key: number): bigint => new DataView(result.lookup(u32(key))!.buffer).getBigUint64(0, true);
  const kind = read(0);
  if (kind === BigInt(HARNESS_RESULT_KIND.executor)) return { kind: 'executor', key: read(1) };
  if (kind === BigInt(HARNESS_RESULT_KIND.pass)) return { kind: 'pass' };
  if (kind === BigInt(HARNESS_RESULT_KIND.drop)) return { kind: 'drop' };
  throw new Error(`the harness recorded no decision (kind ${String(kind)})`);
}

const open: LoadedProgram[] = [];
afterEach(() => {
  for (const loaded of open.splice(0)) loaded.close();
});

/**
 * Runs `ir`, lowered for the NFP (partial products, 32-bit division steps, no immediate
 * stores, counters by atomic add) with the queue store swapped for the test harness's ending,
 * in the kernel through BPF_PROG_TEST_RUN, and compares every decision and every map entry
 * with core's evaluator, both sides starting from the same map contents. Returns the cases run.
 */
function differential(ir: PolicyIr, seed: number, cases: number, label: string): number {
  expect(validateForNfp(ir).violations, label).toEqual([]);
  const loaded = loadProgramSpec(generateProgram(ir, { target: nfpTestHarnessTarget() }));
  open.push(loaded);
  const rng = new SeededRandom(seed);
  const memory = new Map<string, DataMapStore>();
  for (const [name, spec] of Object.entries(ir.manifest.maps)) {
    const store = new InMemoryDataMapStore(spec, { name });
    memory.set(name, store);
    for (let key = 0; key < Math.min(4, spec.maxEntries); key++) {
      const value = rng.chance(0.5) ? BigInt(rng.range(0, 9)) : rng.u64();
      store.update(key, [value]);
      loaded.dataMaps.get(name)!.update(key, [value]);
    }
  }
  const unpredictable = (): never => {
    throw new Error('policies of this suite call neither random() nor now()');
  };
  const evaluator = new PolicyEvaluator(ir, { maps: memory, random: unpredictable, now: unpredictable });
  const runner = loaded.program.testRunner();
  const result = loaded.systemMaps.get(SYSTEM_MAP_NAMES.result)!;
  const kind = ir.manifest.input === 'packet' ? 'packet' : 'udp';
  for (let i = 0; i < cases; i++) {
    const c = randomFrameCase(rng, kind);
    const sentinel = new Uint8Array(8);
    new DataView(sentinel.buffer).setBigUint64(0, SENTINEL, true);
    result.update(u32(0), sentinel);
    const run = runner.run(c.frame);
    expect(run.retval, `${label} case ${i}: the harness returns XDP_PASS`).toBe(2);
    const kernel = decisionOf(loaded);
    const expected = evaluator.evaluate(c.input);
    expect(kernel, `${label} case ${i}`).toEqual(expected);
    for (const [name, store] of memory) expect(entries(loaded.dataMaps.get(name)!), `${label} case ${i} map ${name}`).toEqual(entries(store));
  }
  return cases;
}

describeKernel('NFP-lowered code against the evaluator (BPF_PROG_TEST_RUN)', { needs: ['bpf'] }, () => {
  it('agrees on at least 4,000 cases of random policies inside the NFP subset', () => {
    let total = 0;
    let policies = 0;
    for (let seed = 1; policies < 100; seed++) {
      const generated = generateRandomPolicy({ seed, input: seed % 2 === 0 ? 'packet' : 'udp', helpers: [], mapKinds: ['array', 'hash'], budget: 400 });
      const { ir } = compilePolicy({ fileName: generated.fileName, text: generated.text });
      if (validateForNfp(ir).violations.length > 0) continue;
      policies += 1;
      total += differential(ir, seed * 7919, 40, `random policy seed ${seed}`);
    }
    expect(total).toBe(4000);
  });

  it('agrees on 1,200 cases of 64-bit products, quotients and remainders by constants', () => {
    const rng = new SeededRandom(20261207);
    const constants = (): bigint =>
      rng.pick([
        () => BigInt(rng.range(3, 100)),
        () => BigInt(rng.range(3, 0xffff)),
        () => BigInt(rng.range(0x1_0000, 0x7fff_ffff)),
        () => 1n << BigInt(rng.range(0, 63)),
        () => rng.u64(),
      ])();
    let total = 0;
    for (let p = 0; p < 30; p++) {
      const [c1, c2, c3, c4, c5] = [constants(), constants(), constants(), constants(), constants()];
      const divisor = (c: bigint): bigint => (c >= 1n << 31n && (c & (c - 1n)) !== 0n ? c & 0x7fff_ffffn : c) || 7n;
      const text = `import { definePolicy, PASS } from '@syrup/core';
export default definePolicy({
  name: 'wide-${p}', input: 'packet',
  schedule(frame) {
    if (frame.data.length < 16) return PASS;
    const a = frame.data.u64(0);
    const b = frame.data.u64le(8);
    return (a * b) ^ (a * ${c1}) ^ (b / ${divisor(c2)}) ^ (a % ${divisor(c3)}) ^ ((a + b) / ${divisor(c4)}) ^ (b % ${divisor(c5)});
  },
});`;
      const { ir } = compilePolicy({ fileName: `wide-${p}.ts`, text });
      total += differential(ir, 1000 + p, 40, `wide-${p} (${c1}, ${divisor(c2)}, ${divisor(c3)}, ${divisor(c4)}, ${divisor(c5)})`);
    }
    expect(total).toBe(1200);
  });
});
