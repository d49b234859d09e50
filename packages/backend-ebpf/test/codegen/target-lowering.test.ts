import { describe, expect, it } from 'vitest';
import { compilePolicy } from '@syrup/core';
import { Instruction } from '../../src/asm/index.js';
import { CodegenError } from '../../src/codegen/codegen-error.js';
import type { CodegenTarget } from '../../src/codegen/codegen-target.js';
import { generateProgram } from '../../src/codegen/generate-program.js';
import { XDP_DRV_TARGET } from '../../src/codegen/targets/xdp-targets.js';

/** xdp-drv with every lowering a device like the NFP needs (the kernel suites of backend-nfp run such code). */
const LOWERED: CodegenTarget = { ...XDP_DRV_TARGET, id: 'lowered', lowering: { arithmetic: 'u32-operands', immediateStores: false, mapValueStores: false } };

function instructions(text: string, target: CodegenTarget = LOWERED): Instruction[] {
  const { ir } = compilePolicy({ fileName: 'p.ts', text });
  return generateProgram(ir, { target }).instructions.filter((item): item is Instruction => item instanceof Instruction);
}

const cls = (ins: Instruction): number => ins.opcode & 0x07;
const isAlu = (ins: Instruction): boolean => cls(ins) === 0x04 || cls(ins) === 0x07;

const ARITHMETIC = `import { definePolicy, PASS } from '@syrup/core';
export default definePolicy({
  name: 'arith', input: 'packet',
  maps: { a: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 }, h: { kind: 'hash', key: 'u32', value: 'u64', maxEntries: 4 } },
  schedule(frame, { a, h }) {
    if (frame.data.length < 16) return PASS;
    const x = frame.data.u64(0);
    a.set(1, x * 7);
    a.set(2, 5);
    a.fetchAdd(3, 1);
    h.fetchAdd(x, 2);
    return (x * frame.data.u64(8)) % 6 + x / 1000 + x % 64 + x / 4096;
  },
});`;

describe('target lowering', () => {
  it('leaves the native lowering unchanged: one mul, div and mod instruction each, immediate stores, stores into map values', () => {
    const native = instructions(ARITHMETIC, XDP_DRV_TARGET);
    expect(native.some((ins) => isAlu(ins) && (ins.opcode & 0xf0) === 0x90)).toBe(true);
    expect(native.some((ins) => cls(ins) === 0x02)).toBe(true);
  });

  it('u32-operands, no immediate stores, no map value stores: no mod, no division by a register, no BPF_ST, no store or fetch atomic into a map value', () => {
    const lowered = instructions(ARITHMETIC);
    expect(lowered.filter((ins) => isAlu(ins) && (ins.opcode & 0xf0) === 0x90)).toEqual([]);
    expect(lowered.filter((ins) => isAlu(ins) && (ins.opcode & 0xf0) === 0x30 && (ins.opcode & 0x08) !== 0)).toEqual([]);
    expect(lowered.filter((ins) => cls(ins) === 0x02)).toEqual([]);
    // Atomics: plain adds only (imm 0), never a fetch.
    const atomics = lowered.filter((ins) => cls(ins) === 0x03 && (ins.opcode & 0xe0) === 0xc0);
    expect(atomics.length).toBeGreaterThan(0);
    expect(atomics.every((ins) => Number(ins.imm) === 0)).toBe(true);
    // Every multiplication multiplies registers, never by an immediate a sign extension could make negative.
    expect(lowered.filter((ins) => cls(ins) === 0x07 && (ins.opcode & 0xf0) === 0x20 && (ins.opcode & 0x08) === 0 && Number(ins.imm) < 0)).toEqual([]);
  });

  it('refuses a divisor known only at run time at the policy line', () => {
    const text = `import { definePolicy } from '@syrup/core';
export default definePolicy({
  name: 'var-mod', input: 'udp',
  schedule(pkt) {
    return pkt.srcPort % (pkt.dstPort | 1);
  },
});`;
    let error: unknown;
    try {
      instructions(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(CodegenError);
    expect(error).toMatchObject({ code: 'CODEGEN_NOT_ALLOWED', location: { file: 'p.ts', line: 5, column: 12 } });
    expect((error as Error).message).toBe('the policy needs a remainder (%) by a value known only at run time at p.ts:5:12, which this target cannot run.');
  });
});
