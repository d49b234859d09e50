import { describe, expect, it } from 'vitest';
import {
  AsmError,
  HELPER_IDS,
  Instruction,
  JEq,
  Mov,
  Opcode,
  R0,
  R1,
  callLocal,
  exit,
  helperId,
  helperName,
  isRegister,
  ja,
  jaLong,
  loadImm64,
  referenceField,
  type HelperName,
} from '../../src/asm/index.js';

describe('Instruction', () => {
  it('is immutable; with* methods return copies', () => {
    const ins = Mov.imm(R0, 1);
    expect(Object.isFrozen(ins)).toBe(true);
    const labelled = ins.withSymbol('start').withSource({ file: 'p.ts', line: 3, column: 1 });
    expect(labelled).not.toBe(ins);
    expect(ins.symbol).toBeUndefined();
    expect(labelled).toMatchObject({ opcode: 0xb7, imm: 1, symbol: 'start', source: { file: 'p.ts', line: 3 } });
  });

  it('defaults omitted fields to zero and normalises a u32 immediate to its signed form', () => {
    const ins = new Instruction({ opcode: Opcode.EXIT });
    expect(ins.fields()).toEqual({
      opcode: 0x95,
      dst: 0,
      src: 0,
      offset: 0,
      imm: 0,
      symbol: undefined,
      reference: undefined,
      map: undefined,
      source: undefined,
    });
    expect(new Instruction({ opcode: 0xb4, imm: 0xffff_ffff }).imm).toBe(-1);
    expect(new Instruction({ opcode: 0xb4, imm: 5n }).imm).toBe(5);
  });

  it('always holds the LD_IMM64 constant as an unsigned 64-bit bigint', () => {
    expect(new Instruction({ opcode: Opcode.LD_IMM64, imm: -1 }).imm).toBe(0xffff_ffff_ffff_ffffn);
    expect(loadImm64(R0, 7).with({ imm: 8 }).imm).toBe(8n);
  });

  it('validates its raw fields', () => {
    const bad = (fields: ConstructorParameters<typeof Instruction>[0], code: string) =>
      expect(() => new Instruction(fields)).toThrowError(expect.objectContaining({ code }));
    bad({ opcode: 256 }, 'ASM_INVALID_OPERAND');
    bad({ opcode: 0xb7, dst: 16 }, 'ASM_INVALID_REGISTER');
    bad({ opcode: 0xb7, src: -1 }, 'ASM_INVALID_REGISTER');
    bad({ opcode: 0x05, offset: 0x8000 }, 'ASM_OFFSET_RANGE');
    bad({ opcode: 0xb7, imm: 0x1_0000_0000 }, 'ASM_IMMEDIATE_RANGE');
    bad({ opcode: 0xb7, imm: 1n << 40n }, 'ASM_IMMEDIATE_RANGE');
    bad({ opcode: 0xb7, symbol: '' }, 'ASM_INVALID_LABEL');
    bad({ opcode: 0xb7, reference: 'x' }, 'ASM_INVALID_OPERAND');
    bad({ opcode: Opcode.EXIT, reference: 'x' }, 'ASM_INVALID_OPERAND');
    bad({ opcode: 0xb7, map: 'm' }, 'ASM_INVALID_OPERAND');
    bad({ opcode: Opcode.LD_IMM64, map: 'm' }, 'ASM_INVALID_OPERAND');
    expect(() => new Instruction({ opcode: 256 })).toThrowError(AsmError);
  });

  it('knows which field a label reference resolves into', () => {
    expect(referenceField(JEq.imm(R1, 0, 'x'))).toBe('offset');
    expect(referenceField(ja('x'))).toBe('offset');
    expect(referenceField(jaLong('x'))).toBe('imm');
    expect(referenceField(callLocal('x'))).toBe('imm');
    expect(referenceField(exit())).toBeUndefined();
    expect(referenceField(Mov.imm(R0, 0))).toBeUndefined();
  });

  it('counts slots', () => {
    expect(loadImm64(R0, 0).slots).toBe(2);
    expect(exit().slots).toBe(1);
  });
});

describe('AsmError', () => {
  it('carries a stable code and a cause', () => {
    const cause = new Error('inner');
    const error = new AsmError('ASM_UNKNOWN_LABEL', 'label x is not defined.', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('AsmError');
    expect(error.code).toBe('ASM_UNKNOWN_LABEL');
    expect(error.cause).toBe(cause);
  });
});

describe('registers', () => {
  it('are r0 to r10', () => {
    expect(isRegister(0)).toBe(true);
    expect(isRegister(10)).toBe(true);
    expect(isRegister(11)).toBe(false);
    expect(isRegister(1.5)).toBe(false);
    expect(isRegister('1')).toBe(false);
  });
});

describe('helper ids', () => {
  // Values of enum bpf_func_id in include/uapi/linux/bpf.h.
  const known: [HelperName, number][] = [
    ['map_lookup_elem', 1],
    ['map_update_elem', 2],
    ['map_delete_elem', 3],
    ['ktime_get_ns', 5],
    ['get_prandom_u32', 7],
    ['get_smp_processor_id', 8],
    ['tail_call', 12],
    ['skb_load_bytes', 26],
    ['redirect_map', 51],
    ['skb_load_bytes_relative', 68],
    ['sk_select_reuseport', 82],
    ['ringbuf_output', 130],
    ['ringbuf_reserve', 131],
    ['ringbuf_submit', 132],
    ['ringbuf_discard', 133],
    ['loop', 181],
    ['cgrp_storage_delete', 211],
  ];

  it.each(known)('%s is %i', (name, id) => {
    expect(HELPER_IDS[name]).toBe(id);
    expect(helperId(name)).toBe(id);
    expect(helperName(id)).toBe(name);
  });

  it('cover every id from 1 to 211 exactly once', () => {
    const ids = Object.values(HELPER_IDS).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 211 }, (_, i) => i + 1));
    expect(helperName(0)).toBeUndefined();
    expect(helperName(212)).toBeUndefined();
  });
});
