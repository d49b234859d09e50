import type { BinaryOp, CompareOp, IrInsn, Operand, PolicyIr } from '@syrup/core';
import { array, hash, policyIr } from './support.js';

/** A small deterministic PRNG (mulberry32), so a failing seed can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BINARY: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'mod', 'and', 'or', 'xor', 'shl', 'shr'];
const COMPARE: readonly CompareOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge'];
const FIELDS = ['len', 'hash', 'srcAddr', 'dstAddr', 'srcPort', 'dstPort', 'payloadLength'] as const;
const INTERESTING: readonly bigint[] = [
  0n,
  1n,
  2n,
  3n,
  7n,
  31n,
  32n,
  63n,
  64n,
  65n,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_ffffn,
  0x1_0000_0000n,
  0x7fff_ffff_ffff_ffffn,
  0x8000_0000_0000_0000n,
  0xffff_ffff_ffff_fffen,
  0xffff_ffff_ffff_ffffn,
];

/**
 * A random udp policy: many values computed from the input, the payload and two maps, kept
 * alive across map calls (so some spill), forward branches, one bounded loop, and a decision
 * that mixes them all. Map keys stay small so writes land in the maps.
 */
export function randomUdpPolicy(seed: number, length = 60): PolicyIr {
  const random = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const insns: IrInsn[] = [];
  const defined: number[] = [];
  let next = 0;
  let labels = 0;
  const fresh = (): number => next++;
  const value = (): Operand => {
    const r = random();
    if (defined.length > 0 && r < 0.65) return pick(defined);
    if (r < 0.85) return pick(INTERESTING);
    return BigInt(Math.floor(random() * 2 ** 32)) * BigInt(Math.floor(random() * 2 ** 32));
  };
  const define = (make: (dst: number) => IrInsn): void => {
    const dst = fresh();
    insns.push(make(dst));
    defined.push(dst);
  };
  const small = (): Operand => {
    // A key or offset: a small constant, or a value masked small.
    if (random() < 0.5 || defined.length === 0) return BigInt(Math.floor(random() * 6));
    const dst = fresh();
    insns.push({ op: 'binary', kind: 'and', dst, a: pick(defined), b: 7n });
    return dst;
  };

  for (let i = 0; i < 3; i++) define((dst) => ({ op: 'input', dst, field: pick(FIELDS) }));
  const pending: string[] = [];
  for (let i = 0; i < length; i++) {
    const r = random();
    if (r < 0.35) define((dst) => ({ op: 'binary', kind: pick(BINARY), dst, a: value(), b: value() }));
    else if (r < 0.42) define((dst) => ({ op: 'unary', kind: random() < 0.5 ? 'neg' : 'not', dst, a: value() }));
    else if (r < 0.5) define((dst) => ({ op: 'compare', kind: pick(COMPARE), dst, a: value(), b: value() }));
    else if (r < 0.55) define((dst) => ({ op: 'input', dst, field: pick(FIELDS) }));
    else if (r < 0.63) {
      const offset = small();
      define((dst) => ({ op: 'load', dst, region: 'payload', offset, size: pick([1, 2, 4, 8] as const), byteOrder: random() < 0.7 ? 'be' : 'le' }));
    } else if (r < 0.69) {
      const key = small();
      define((dst) => ({ op: 'map-get', dst, map: pick(['a', 'h']), key }));
    } else if (r < 0.74) {
      const key = small();
      insns.push({ op: 'map-set', map: pick(['a', 'h']), key, value: value() });
    } else if (r < 0.79) {
      const key = small();
      define((dst) => ({ op: 'map-fetch-add', dst, map: pick(['a', 'h']), key, delta: value() }));
    } else if (r < 0.83) {
      const key = small();
      const expected = random() < 0.5 ? 0n : value();
      define((dst) => ({ op: 'map-cmpxchg', dst, map: pick(['a', 'h']), key, expected, desired: value() }));
    } else if (r < 0.85) {
      insns.push({ op: 'map-delete', map: pick(['a', 'h']), key: small() });
    } else if (r < 0.9 && defined.length > 0) {
      const name = `skip${labels++}`;
      insns.push({ op: 'jump-if', kind: pick(COMPARE), a: pick(defined), b: value(), target: name });
      pending.push(name);
    } else if (r < 0.93 && pending.length > 0) {
      insns.push({ op: 'label', label: pending.shift()! });
    } else if (r < 0.95 && defined.length > 1) {
      // A bounded loop accumulating into a value defined before it.
      const counter = fresh();
      const acc = pick(defined);
      const top = `loop${labels++}`;
      insns.push({ op: 'const', dst: counter, value: 0n }, { op: 'label', label: top });
      insns.push({ op: 'binary', kind: pick(['add', 'xor', 'mul'] as const), dst: acc, a: acc, b: value() });
      insns.push({ op: 'binary', kind: 'add', dst: counter, a: counter, b: 1n });
      insns.push({ op: 'jump-if', kind: 'lt', a: counter, b: BigInt(1 + Math.floor(random() * 4)), target: top });
    } else if (r < 0.97 && defined.length > 0) {
      // An early decision now and then.
      const name = `go${labels++}`;
      insns.push({ op: 'jump-if', kind: pick(COMPARE), a: pick(defined), b: value(), target: name });
      insns.push(random() < 0.5 ? { op: 'return', verdict: 'drop' } : { op: 'return', verdict: 'executor', value: value() });
      insns.push({ op: 'label', label: name });
    } else {
      define((dst) => ({ op: 'mov', dst, src: value() }));
    }
  }
  for (const name of pending) insns.push({ op: 'label', label: name });
  // Fold the last values into the decision, so they are all live until the end (about 20
  // values: enough to spill, not so many that they overflow the 512-byte stack).
  let acc: Operand = 0n;
  for (const v of defined.slice(-20)) {
    const dst = fresh();
    insns.push({ op: 'binary', kind: random() < 0.5 ? 'xor' : 'add', dst, a: acc, b: v });
    acc = dst;
  }
  const tail = `tail${labels++}`;
  insns.push({ op: 'jump-if', kind: 'eq', a: acc, b: 5n, target: tail });
  insns.push({ op: 'return', verdict: 'executor', value: acc });
  insns.push({ op: 'label', label: tail }, { op: 'return', verdict: 'pass' });
  return policyIr({ name: `random-${seed}`, input: 'udp', maps: { a: array(4), h: hash(3) }, insns, registerCount: next });
}
