import { flowHash, type IrInsn, type Operand, type PolicyIr } from '@syrup/core';
import type { DataMapSpec } from '@syrup/maps';
import type { Decision } from './kernel-support.js';

const MASK = (1n << 64n) - 1n;

/**
 * The IR's semantics (policy-ir.ts) and core's map semantics (PolicyMapAccess: keys are the low
 * 32 bits, array keys out of range read 0 and write nothing, a full hash ignores new keys,
 * compare-exchange on an absent hash key inserts only when it expected 0), written plainly so
 * kernel runs can be compared with it. Core's evaluator is the production twin; this copy keeps
 * these tests independent of its exports.
 */
export class ReferenceMap {
  readonly entries = new Map<number, bigint>();
  constructor(readonly spec: DataMapSpec) {}

  get array(): boolean {
    return this.spec.kind === 'array' || this.spec.kind === 'percpu-array';
  }

  get(key: number): bigint {
    if (this.array) return key < this.spec.maxEntries ? (this.entries.get(key) ?? 0n) : 0n;
    return this.entries.get(key) ?? 0n;
  }

  has(key: number): boolean {
    return this.array ? key < this.spec.maxEntries : this.entries.has(key);
  }

  /** False when the write did nothing (out of range, full). */
  set(key: number, value: bigint): boolean {
    if (this.array) {
      if (key >= this.spec.maxEntries) return false;
    } else if (!this.entries.has(key) && this.entries.size >= this.spec.maxEntries) {
      return false;
    }
    this.entries.set(key, value);
    return true;
  }

  delete(key: number): void {
    if (!this.array) this.entries.delete(key);
  }

  fetchAdd(key: number, delta: bigint): bigint {
    if (!this.has(key)) {
      if (this.array) return 0n;
      this.set(key, delta);
      return 0n;
    }
    const old = this.get(key);
    this.entries.set(key, (old + delta) & MASK);
    return old;
  }

  compareExchange(key: number, expected: bigint, desired: bigint): bigint {
    if (!this.has(key)) {
      if (!this.array && expected === 0n) this.set(key, desired);
      return 0n;
    }
    const old = this.get(key);
    if (old === expected) this.entries.set(key, desired);
    return old;
  }
}

export interface ReferenceInput {
  readonly payload?: Uint8Array;
  readonly data?: Uint8Array;
  readonly len?: bigint;
  readonly srcAddr?: number;
  readonly dstAddr?: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly cpu?: number;
}

export function binary(kind: string, a: bigint, b: bigint): bigint {
  switch (kind) {
    case 'add':
      return (a + b) & MASK;
    case 'sub':
      return (a - b) & MASK;
    case 'mul':
      return (a * b) & MASK;
    case 'div':
      return b === 0n ? 0n : a / b;
    case 'mod':
      return b === 0n ? a : a % b;
    case 'and':
      return a & b;
    case 'or':
      return a | b;
    case 'xor':
      return a ^ b;
    case 'shl':
      return (a << (b & 63n)) & MASK;
    default:
      return a >> (b & 63n);
  }
}

export function compare(kind: string, a: bigint, b: bigint): boolean {
  switch (kind) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    case 'gt':
      return a > b;
    default:
      return a >= b;
  }
}

export function interpret(ir: PolicyIr, input: ReferenceInput, maps: ReadonlyMap<string, ReferenceMap>): Decision {
  const labels = new Map<string, number>();
  ir.insns.forEach((insn, i) => insn.op === 'label' && labels.set(insn.label, i));
  const regs = new Array<bigint>(ir.registerCount).fill(0n);
  const v = (o: Operand): bigint => (typeof o === 'bigint' ? o : regs[o]!);
  const key = (o: Operand): number => Number(v(o) & 0xffff_ffffn);
  const field = (name: string): bigint => {
    const payload = input.payload ?? new Uint8Array(0);
    switch (name) {
      case 'len':
        return input.len ?? BigInt(payload.length + 8);
      case 'payloadLength':
        return BigInt(payload.length);
      case 'length':
        return BigInt(input.data?.length ?? 0);
      case 'hash':
        return BigInt(flowHash(input.srcAddr ?? 0, input.dstAddr ?? 0, input.srcPort ?? 0, input.dstPort ?? 0));
      default:
        return BigInt((input as Record<string, number | undefined>)[name] ?? 0);
    }
  };
  for (let pc = 0, steps = 0; pc < ir.insns.length && steps < 1_000_000; steps++) {
    const insn: IrInsn = ir.insns[pc++]!;
    switch (insn.op) {
      case 'const':
        regs[insn.dst] = insn.value;
        break;
      case 'mov':
        regs[insn.dst] = v(insn.src);
        break;
      case 'binary':
        regs[insn.dst] = binary(insn.kind, v(insn.a), v(insn.b));
        break;
      case 'unary':
        regs[insn.dst] = insn.kind === 'neg' ? -v(insn.a) & MASK : ~v(insn.a) & MASK;
        break;
      case 'compare':
        regs[insn.dst] = compare(insn.kind, v(insn.a), v(insn.b)) ? 1n : 0n;
        break;
      case 'label':
        break;
      case 'jump':
        pc = labels.get(insn.target)!;
        break;
      case 'jump-if':
        if (compare(insn.kind, v(insn.a), v(insn.b))) pc = labels.get(insn.target)!;
        break;
      case 'input':
        regs[insn.dst] = field(insn.field);
        break;
      case 'load': {
        const bytes = (insn.region === 'payload' ? input.payload : input.data) ?? new Uint8Array(0);
        const offset = v(insn.offset);
        if (offset + BigInt(insn.size) > BigInt(bytes.length)) return { kind: 'pass' };
        let result = 0n;
        for (let i = 0; i < insn.size; i++) {
          const byte = bytes[Number(offset) + (insn.byteOrder === 'be' ? i : insn.size - 1 - i)]!;
          result = (result << 8n) | BigInt(byte);
        }
        regs[insn.dst] = result;
        break;
      }
      case 'map-get':
        regs[insn.dst] = maps.get(insn.map)!.get(key(insn.key));
        break;
      case 'map-set':
        maps.get(insn.map)!.set(key(insn.key), v(insn.value));
        break;
      case 'map-delete':
        maps.get(insn.map)!.delete(key(insn.key));
        break;
      case 'map-fetch-add':
        regs[insn.dst] = maps.get(insn.map)!.fetchAdd(key(insn.key), v(insn.delta));
        break;
      case 'map-cmpxchg':
        regs[insn.dst] = maps.get(insn.map)!.compareExchange(key(insn.key), v(insn.expected), v(insn.desired));
        break;
      case 'helper':
        if (insn.helper !== 'cpu') throw new Error(`the reference cannot predict ${insn.helper}()`);
        regs[insn.dst] = BigInt(input.cpu ?? 0);
        break;
      case 'return':
        if (insn.verdict === 'executor') return { kind: 'executor', key: v(insn.value) };
        return { kind: insn.verdict };
    }
  }
  throw new Error('the reference interpreter ran off the program or out of steps');
}
