import { InMemoryDataMapStore } from '@syrup/maps';
import { describe, expect, it } from 'vitest';
import { inputFlowHash } from '../../src/evaluator/evaluation-input.js';
import { PolicyEvaluationError } from '../../src/evaluator/policy-evaluation-error.js';
import { PolicyEvaluator, evaluatePolicy, type PolicyEvaluatorOptions } from '../../src/evaluator/policy-evaluator.js';
import type { PolicyIr } from '../../src/ir/policy-ir.js';
import { PolicyIrError } from '../../src/ir/verify-policy-ir.js';
import { flowHash } from '../../src/policy/flow-hash.js';
import { SeededRandom } from '../../src/testing/index.js';
import { compileText, udpPolicy } from '../support/compile.js';
import { dumpMaps, show, words } from '../support/evaluate.js';

const ENGINES = ['compiled', 'reference'] as const;
const maps = (spec: Record<string, string>): string =>
  `{ ${Object.entries(spec)
    .map(([name, s]) => `${name}: { kind: '${s.split(':')[0]}', key: 'u32', value: 'u64', maxEntries: ${s.split(':')[1]} }`)
    .join(', ')} }`;
const both = (ir: PolicyIr, options: PolicyEvaluatorOptions = {}) => ENGINES.map((engine) => new PolicyEvaluator(ir, { ...options, engine }));

describe('PolicyEvaluator', () => {
  describe('payload reads', () => {
    const ir = compileText(udpPolicy('    return pkt.payload.u32(pkt.payload.u8(0)) + pkt.payload.u16le(1) * 0 + pkt.payload.u64(0) * 0;'));

    it.each(ENGINES)('answer PASS when a read goes past the end (%s)', (engine) => {
      const e = new PolicyEvaluator(ir, { engine });
      expect(show(e.evaluate({ payload: new Uint8Array([5, 0, 0, 0, 0, 0, 0, 9]) }))).toBe('PASS'); // the u32 at 5 would end at 9
      expect(show(e.evaluate({ payload: new Uint8Array([4, 0, 0, 0, 0, 0, 0, 9]) }))).toBe('9'); // the u32 at 4 ends exactly at 8
      expect(show(e.evaluate({ payload: new Uint8Array([2, 0, 0, 0, 1, 0, 0]) }))).toBe('PASS'); // the u64 read needs 8 bytes
      expect(show(e.evaluate({ payload: new Uint8Array([255, 0, 0, 0, 0, 0, 0, 0]) }))).toBe('PASS');
      expect(show(e.evaluate({}))).toBe('PASS');
    });

    it.each(ENGINES)('read big- and little-endian words exactly (%s)', (engine) => {
      const reads = compileText(
        udpPolicy(
          '    return pkt.payload.u8(0) === 0x01 && pkt.payload.u16(0) === 0x0102 && pkt.payload.u16le(0) === 0x0201 && pkt.payload.u32(0) === 0x01020304 && pkt.payload.u32le(0) === 0x04030201 && pkt.payload.u64(0) === 0x0102030405060708 && pkt.payload.u64le(0) === 0x0807060504030201 && pkt.payload.u64(8) === 0xffff_ffff_ffff_fffe ? 1 : 0;',
        ),
      );
      const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 255, 255, 255, 255, 255, 255, 255, 254]);
      expect(show(new PolicyEvaluator(reads, { engine }).evaluate({ payload }))).toBe('1');
    });

    it('reads beyond 2^32 and past a huge offset answer PASS', () => {
      const far = compileText(udpPolicy('    return pkt.payload.u8(0x1_0000_0000) + pkt.payload.u8(pkt.len * 0x1_0000_0000);'));
      for (const e of both(far)) expect(show(e.evaluate({ payload: new Uint8Array(64) }))).toBe('PASS');
    });
  });

  describe('maps', () => {
    it.each(ENGINES)('array: absent is 0, keys past the end read 0 and write nothing, keys are the low 32 bits (%s)', (engine) => {
      const ir = compileText(
        udpPolicy(
          `    next.set(9, 5);
    next.fetchAdd(1, 7);
    next.compareExchange(2, 0, 3);
    next.set(0x1_0000_0000, 11);
    return next.get(7) + next.get(3) + next.fetchAdd(8, 1) + next.compareExchange(8, 0, 1);`,
        ),
      );
      const e = new PolicyEvaluator(ir, { engine });
      expect(show(e.evaluate({}))).toBe('0');
      expect(dumpMaps(e.maps)).toEqual(['next[0]=11', 'next[1]=7', 'next[2]=3', 'next[3]=0']);
    });

    it.each(ENGINES)('hash: fetchAdd on an absent key inserts the delta, set on a full hash does nothing (%s)', (engine) => {
      const ir = compileText(
        udpPolicy(
          `    const old = counts.fetchAdd(pkt.srcPort, 5);
    counts.set(pkt.dstPort, 1);
    return old;`,
          { maps: maps({ counts: 'hash:2' }), signature: 'pkt, { counts }' },
        ),
      );
      const e = new PolicyEvaluator(ir, { engine });
      expect(show(e.evaluate({ srcPort: 1, dstPort: 1 }))).toBe('0');
      expect(show(e.evaluate({ srcPort: 1, dstPort: 2 }))).toBe('1');
      expect(show(e.evaluate({ srcPort: 3, dstPort: 4 }))).toBe('0'); // full: neither 3 nor 4 gets in
      expect(dumpMaps(e.maps)).toEqual(['counts[1]=6', 'counts[2]=1']);
    });

    it.each(ENGINES)('hash: compareExchange on an absent key inserts only when it expected 0; delete removes (%s)', (engine) => {
      const ir = compileText(
        udpPolicy(
          `    const a = counts.compareExchange(1, 0, 10);
    const b = counts.compareExchange(2, 5, 10);
    const c = counts.compareExchange(1, 10, 11);
    counts.delete(3);
    counts.delete(pkt.len);
    return a + b + c;`,
          { maps: maps({ counts: 'hash:8' }), signature: 'pkt, { counts }' },
        ),
      );
      const e = new PolicyEvaluator(ir, { engine });
      e.maps.get('counts')!.update(20, [1n]);
      expect(show(e.evaluate({ len: 20 }))).toBe('10');
      expect(dumpMaps(e.maps)).toEqual(['counts[1]=11']);
    });

    it.each(ENGINES)('lru-hash: a new key evicts the least recently used one (%s)', (engine) => {
      const ir = compileText(
        udpPolicy('    seen.set(pkt.srcPort, pkt.srcPort);\n    return seen.get(pkt.dstPort);', { maps: maps({ seen: 'lru-hash:2' }), signature: 'pkt, { seen }' }),
      );
      const e = new PolicyEvaluator(ir, { engine });
      // Reading 1 after 2 is written makes 2 the least recently used, so 3 evicts 2.
      expect([[1, 0], [2, 1], [3, 9]].map(([srcPort, dstPort]) => show(e.evaluate({ srcPort, dstPort })))).toEqual(['0', '1', '0']);
      expect(dumpMaps(e.maps)).toEqual(['seen[1]=1', 'seen[3]=3']);
    });

    it.each(ENGINES)('percpu-array: every operation uses the CPU slot, and cpu() is that CPU (%s)', (engine) => {
      const ir = compileText(
        udpPolicy(
          `    stats.fetchAdd(0, 1);
    stats.set(1, cpu() + 100);
    stats.compareExchange(2, 0, 7);
    return stats.get(0) * 1000 + cpu();`,
          { maps: maps({ stats: 'percpu-array:4' }), signature: 'pkt, { stats }' },
        ),
      );
      const e = new PolicyEvaluator(ir, { engine, cpu: 1, cpus: 3 });
      expect(show(e.evaluate({}))).toBe('1001');
      expect(show(e.evaluate({}, { cpu: 2 }))).toBe('1002');
      expect(show(e.evaluate({}))).toBe('2001');
      expect(e.maps.get('stats')!.lookup(0)).toEqual([0n, 2n, 1n]);
      expect(e.maps.get('stats')!.lookup(1)).toEqual([0n, 101n, 102n]);
      expect(e.maps.get('stats')!.lookup(2)).toEqual([0n, 7n, 7n]);
      expect(() => e.evaluate({}, { cpu: 3 })).toThrow(new PolicyEvaluationError("cpu 3 has no slot in the policy's per-CPU maps, which have 3."));
    });

    it('shares stores with the application', () => {
      const busy = new InMemoryDataMapStore({ kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 }, { name: 'busy' });
      const ir = compileText(
        udpPolicy('    for (let s = 0; s < 4; s++) {\n      if (busy.get(s) === 0) return s;\n    }\n    return PASS;', {
          maps: maps({ busy: 'array:4' }),
          signature: 'pkt, { busy }',
        }),
      );
      const e = new PolicyEvaluator(ir, { maps: { busy } });
      expect(e.maps.get('busy')).toBe(busy);
      expect(show(e.evaluate({}))).toBe('0');
      busy.update(0, [1n]);
      busy.update(1, [1n]);
      expect(show(e.evaluate({}))).toBe('2');
      for (let k = 2; k < 4; k++) busy.update(k, [1n]);
      expect(show(e.evaluate({}))).toBe('PASS');
    });
  });

  it.each(ENGINES)('is deterministic with injected random and now (%s)', (engine) => {
    const ir = compileText(udpPolicy('    return (random() << 32) | (now() & 0xffff);'));
    const run = () => {
      let r = 0;
      let t = 0n;
      const e = new PolicyEvaluator(ir, { engine, random: () => (r += 0x1_0000_0001), now: () => (t += 1_000_000n) });
      return [e.evaluate({}), e.evaluate({}), e.evaluate({})].map(show);
    };
    // random() is a u32, so 0x1_0000_0001 becomes 1, then 2, then 3.
    expect(run()).toEqual([String((1n << 32n) | (1_000_000n & 0xffffn)), String((2n << 32n) | (2_000_000n & 0xffffn)), String((3n << 32n) | (3_000_000n & 0xffffn))]);
    expect(run()).toEqual(run());
  });

  it('computes the flow hash when the input has no hash, and len from the payload', () => {
    const ir = compileText(udpPolicy('    return pkt.hash * 0x1_0000 + pkt.len;'));
    const input = { srcAddr: 0x7f000001, dstAddr: 0x7f000002, srcPort: 5000, dstPort: 9000, payload: new Uint8Array(10) };
    for (const e of both(ir)) {
      expect(show(e.evaluate(input))).toBe(String(BigInt(flowHash(0x7f000001, 0x7f000002, 5000, 9000)) * 0x1_0000n + 18n));
      expect(show(e.evaluate({ ...input, hash: 3, len: 100n }))).toBe(String(3n * 0x1_0000n + 100n));
    }
  });

  it('reads thread and packet inputs', () => {
    const thread = compileText(udpPolicy('    return pkt.tid + pkt.pid + pkt.lastCpu + pkt.runtimeNs;', { input: 'thread', maps: '{}', signature: 'pkt' }));
    expect(show(evaluatePolicy(thread, { tid: 1, pid: 2, lastCpu: 3, runtimeNs: 1n << 60n }))).toBe(String(6n + (1n << 60n)));
    const packet = compileText(udpPolicy('    return pkt.length + pkt.data.length + pkt.data.u8(1);', { input: 'packet', maps: '{}', signature: 'pkt' }));
    expect(show(evaluatePolicy(packet, { data: new Uint8Array([0, 7]) }))).toBe('11');
  });

  it('refuses inputs, stores and IR it cannot run, in one sentence', () => {
    const ir = compileText(udpPolicy('    return pkt.srcPort + next.get(0);'));
    expect(() => evaluatePolicy(ir, { srcPort: -1 })).toThrow(new PolicyEvaluationError("input field 'srcPort' is -1, not an unsigned 64-bit integer."));
    expect(() => evaluatePolicy(ir, { srcPort: 1.5 })).toThrow(PolicyEvaluationError);
    const wrong = new InMemoryDataMapStore({ kind: 'hash', key: 'u32', value: 'u64', maxEntries: 4 });
    expect(() => new PolicyEvaluator(ir, { maps: { next: wrong } })).toThrow(
      new PolicyEvaluationError("map 'next' is declared as array with 4 entries, but the given store is hash with 4."),
    );
    expect(() => new PolicyEvaluator(ir, { maps: { other: wrong } })).toThrow(new PolicyEvaluationError("policy 'test' declares no map 'other' for the given store."));
    expect(() => new PolicyEvaluator(ir, { cpu: -1 })).toThrow(new PolicyEvaluationError('cpu -1 is not a CPU index.'));
    expect(() => new PolicyEvaluator({ ...ir, insns: [] })).toThrow(PolicyIrError);
    expect(show(evaluatePolicy(ir, { srcPort: 2 ** 53 - 1 }))).toBe(String(2 ** 53 - 1));
  });
});

describe('inputFlowHash', () => {
  it('is the framework flow hash, bit for bit', () => {
    const rng = new SeededRandom(99);
    for (let i = 0; i < 2000; i++) {
      const [srcAddr, dstAddr, srcPort, dstPort] = [rng.u32(), rng.u32(), rng.int(0x1_0000), rng.int(0x1_0000)];
      expect(inputFlowHash({ srcAddr, dstAddr, srcPort, dstPort })).toBe(BigInt(flowHash(srcAddr, dstAddr, srcPort, dstPort)));
    }
    expect(inputFlowHash({ srcAddr: 1n << 40n, srcPort: 0x1_0001 })).toBe(BigInt(flowHash(0, 0, 1, 0)));
  });
});

describe('IR from other producers', () => {
  it.each(ENGINES)('runs backward jumps (%s)', (engine) => {
    const ir: PolicyIr = {
      version: 1,
      fileName: 'loop.ir',
      registerCount: 2,
      manifest: { name: 'loop', input: 'udp', maps: {}, params: {} },
      insns: [
        { op: 'const', dst: 0, value: 0n },
        { op: 'input', dst: 1, field: 'len' },
        { op: 'label', label: 'top' },
        { op: 'binary', kind: 'add', dst: 0, a: 0, b: 3n },
        { op: 'binary', kind: 'sub', dst: 1, a: 1, b: 1n },
        { op: 'jump-if', kind: 'ne', a: 1, b: 0n, target: 'top' },
        { op: 'unary', kind: 'not', dst: 1, a: 0 },
        { op: 'jump-if', kind: 'gt', a: 1, b: 0xffff_ffff_0000_0000n, target: 'done' },
        { op: 'return', verdict: 'drop' },
        { op: 'label', label: 'done' },
        { op: 'return', verdict: 'executor', value: 0 },
      ],
    };
    expect(show(new PolicyEvaluator(ir, { engine }).evaluate({ len: 5 }))).toBe('15');
  });
});
