import { describe, expect, it } from 'vitest';
import {
  AsmError,
  JEq,
  JGE,
  JGT,
  JLE,
  JLT,
  JNE,
  JSGE,
  JSGT,
  JSLE,
  JSLT,
  JSet,
  R1,
  R2,
  R10,
  call,
  callLocal,
  exit,
  ja,
  jaLong,
  jumpImm,
  jumpReg,
  type HelperName,
  type Instruction,
} from '../../src/asm/index.js';
import { hex } from './support.js';

// Each condition in four forms: JMP imm, JMP reg, JMP32 imm, JMP32 reg. Offsets are raw here;
// label resolution has its own tests. imm -5 = fbffffff, offset -2 = feff.
const conditions: [string, typeof JEq, [string, string, string, string]][] = [
  ['==', JEq, ['15010300fbffffff', '1d21feff00000000', '16010300fbffffff', '1e21feff00000000']],
  ['>', JGT, ['25010300fbffffff', '2d21feff00000000', '26010300fbffffff', '2e21feff00000000']],
  ['>=', JGE, ['35010300fbffffff', '3d21feff00000000', '36010300fbffffff', '3e21feff00000000']],
  ['&', JSet, ['45010300fbffffff', '4d21feff00000000', '46010300fbffffff', '4e21feff00000000']],
  ['!=', JNE, ['55010300fbffffff', '5d21feff00000000', '56010300fbffffff', '5e21feff00000000']],
  ['s>', JSGT, ['65010300fbffffff', '6d21feff00000000', '66010300fbffffff', '6e21feff00000000']],
  ['s>=', JSGE, ['75010300fbffffff', '7d21feff00000000', '76010300fbffffff', '7e21feff00000000']],
  ['<', JLT, ['a5010300fbffffff', 'ad21feff00000000', 'a6010300fbffffff', 'ae21feff00000000']],
  ['<=', JLE, ['b5010300fbffffff', 'bd21feff00000000', 'b6010300fbffffff', 'be21feff00000000']],
  ['s<', JSLT, ['c5010300fbffffff', 'cd21feff00000000', 'c6010300fbffffff', 'ce21feff00000000']],
  ['s<=', JSLE, ['d5010300fbffffff', 'dd21feff00000000', 'd6010300fbffffff', 'de21feff00000000']],
];

describe('conditional jumps', () => {
  it.each(conditions)('%s in JMP and JMP32, imm and reg', (_op, emit, [imm, reg, imm32, reg32]) => {
    expect(hex(emit.imm(R1, -5, 3))).toBe(imm);
    expect(hex(emit.reg(R1, R2, -2))).toBe(reg);
    expect(hex(emit.imm32(R1, -5, 3))).toBe(imm32);
    expect(hex(emit.reg32(R1, R2, -2))).toBe(reg32);
  });

  it('have generic forms keyed by condition', () => {
    expect(hex(jumpImm('gt', R1, 7, 1))).toBe('2501010007000000');
    expect(hex(jumpReg('sle', R1, R2, 1, 32))).toBe('de21010000000000');
  });

  it('accept the unsigned spelling of an immediate only in JMP32', () => {
    expect(hex(JEq.imm32(R1, 0xffff_ffff, 1))).toBe('16010100ffffffff');
    expect(() => JEq.imm(R1, 0xffff_ffff, 1)).toThrowError(expect.objectContaining({ code: 'ASM_IMMEDIATE_RANGE' }));
  });

  it('may compare r10, which they only read', () => {
    expect(hex(JEq.reg(R10, R1, 0))).toBe('1d1a000000000000');
  });

  it('keep a label as a reference with a zero offset until assembly', () => {
    const ins = JNE.imm(R1, 0, 'out');
    expect(ins.reference).toBe('out');
    expect(ins.offset).toBe(0);
  });

  it('reject raw offsets beyond s16', () => {
    expect(() => JEq.imm(R1, 0, 0x8000)).toThrowError(expect.objectContaining({ code: 'ASM_OFFSET_RANGE' }));
    expect(() => ja(-0x8001)).toThrowError(expect.objectContaining({ code: 'ASM_OFFSET_RANGE' }));
    expect(() => ja('')).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_LABEL' }));
  });
});

const others: [string, () => Instruction, string][] = [
  ['goto +4', () => ja(4), '0500040000000000'],
  ['goto -1', () => ja(-1), '0500ffff00000000'],
  ['gotol +100000', () => jaLong(100_000), '06000000a0860100'],
  ['call map_lookup_elem', () => call('map_lookup_elem'), '8500000001000000'],
  ['call map_update_elem', () => call('map_update_elem'), '8500000002000000'],
  ['call ktime_get_ns', () => call('ktime_get_ns'), '8500000005000000'],
  ['call get_prandom_u32', () => call('get_prandom_u32'), '8500000007000000'],
  ['call redirect_map', () => call('redirect_map'), '8500000033000000'],
  ['call sk_select_reuseport', () => call('sk_select_reuseport'), '8500000052000000'],
  ['call ringbuf_output', () => call('ringbuf_output'), '8500000082000000'],
  ['call loop', () => call('loop'), '85000000b5000000'],
  ['call by id', () => call(12), '850000000c000000'],
  ['call pc+2', () => callLocal(2), '8510000002000000'],
  ['exit', () => exit(), '9500000000000000'],
];

describe('unconditional jumps, calls and exit', () => {
  it.each(others)('%s', (_name, build, expected) => {
    expect(hex(build())).toBe(expected);
  });

  it('reject helpers that do not exist', () => {
    expect(() => call('no_such_helper' as HelperName)).toThrowError(AsmError);
    expect(() => call('no_such_helper' as HelperName)).toThrowError(expect.objectContaining({ code: 'ASM_UNKNOWN_HELPER' }));
    expect(() => call(0)).toThrowError(expect.objectContaining({ code: 'ASM_UNKNOWN_HELPER' }));
    expect(() => call('toString' as HelperName)).toThrowError(expect.objectContaining({ code: 'ASM_UNKNOWN_HELPER' }));
  });
});
