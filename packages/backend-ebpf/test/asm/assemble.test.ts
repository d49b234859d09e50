import { describe, expect, it } from 'vitest';
import {
  Add,
  AsmError,
  Instruction,
  JEq,
  JNE,
  Mov,
  R0,
  R1,
  R2,
  assemble,
  call,
  callLocal,
  encode,
  exit,
  ja,
  jaLong,
  label,
  loadImm64,
  loadMapPtr,
  loadMem,
  resolveLabels,
  type AsmItem,
} from '../../src/asm/index.js';
import { hex, toHex } from './support.js';

describe('label resolution', () => {
  // slot 0: top, 1: forward jump, 2-3: LD_IMM64, 4: backward jump, 5: out
  const program: AsmItem[] = [
    Mov.imm(R0, 0).withSymbol('top'),
    JEq.imm(R1, 0, 'out'),
    loadImm64(R2, 0x1_0000_0000n),
    JNE.reg(R2, R1, 'top'),
    label('out'),
    exit(),
  ];

  it('counts LD_IMM64 as two slots for forward and backward jumps', () => {
    const { instructions, labels, slotCount } = resolveLabels(program);
    expect(slotCount).toBe(6);
    expect([...labels]).toEqual([
      ['top', 0],
      ['out', 5],
    ]);
    expect(instructions[1]?.offset).toBe(3); // 5 - 1 - 1
    expect(instructions[3]?.offset).toBe(-5); // 0 - 4 - 1
    expect(hex(program)).toBe(
      [
        'b700000000000000',
        '1501030000000000',
        '1802000000000000 0000000001000000',
        '5d12fbff00000000',
        '9500000000000000',
      ].join(' '),
    );
  });

  it('folds a label marker into the next instruction as its symbol, keeping aliases', () => {
    const { instructions, labels } = resolveLabels([ja('b'), label('a'), label('b'), exit()]);
    expect(instructions[1]?.symbol).toBe('a');
    expect(labels.get('a')).toBe(1);
    expect(labels.get('b')).toBe(1);
    expect(instructions[0]?.offset).toBe(0);
  });

  it('resolves a jump to itself and keeps raw offsets', () => {
    const { instructions } = resolveLabels([ja('self').withSymbol('self'), JEq.imm(R1, 0, 7)]);
    expect(instructions[0]?.offset).toBe(-1);
    expect(instructions[1]?.offset).toBe(7);
  });

  it('is idempotent', () => {
    const once = resolveLabels(program);
    const twice = resolveLabels(once.instructions);
    expect(twice.instructions.map((i) => i.offset)).toEqual(once.instructions.map((i) => i.offset));
    expect(toHex(encode(once.instructions))).toBe(hex(program));
  });

  it('rejects an unknown label', () => {
    const items = [Mov.imm(R0, 0), JEq.imm(R1, 0, 'nowhere'), exit()];
    expect(() => resolveLabels(items)).toThrowError(AsmError);
    expect(() => resolveLabels(items)).toThrowError(
      expect.objectContaining({
        code: 'ASM_UNKNOWN_LABEL',
        message: "instruction 1 jumps to label 'nowhere', which is not defined.",
      }),
    );
  });

  it('rejects a duplicate label, from markers or symbols', () => {
    expect(() => resolveLabels([label('x'), exit(), label('x'), exit()])).toThrowError(
      expect.objectContaining({
        code: 'ASM_DUPLICATE_LABEL',
        message: "label 'x' is defined twice, at instructions 0 and 1.",
      }),
    );
    expect(() => resolveLabels([exit().withSymbol('x'), loadImm64(R0, 1), exit().withSymbol('x')])).toThrowError(
      expect.objectContaining({ code: 'ASM_DUPLICATE_LABEL', message: "label 'x' is defined twice, at instructions 0 and 3." }),
    );
    expect(() => resolveLabels([label('x'), exit().withSymbol('x')])).toThrowError(
      expect.objectContaining({ code: 'ASM_DUPLICATE_LABEL' }),
    );
  });

  it('rejects a label with no instruction after it', () => {
    expect(() => resolveLabels([exit(), label('end')])).toThrowError(
      expect.objectContaining({ code: 'ASM_DANGLING_LABEL', message: "label 'end' is not followed by an instruction." }),
    );
  });

  it('rejects empty label names and items that are neither instructions nor labels', () => {
    expect(() => label('')).toThrowError(expect.objectContaining({ code: 'ASM_INVALID_LABEL' }));
    expect(() => resolveLabels([{ kind: 'nope' } as unknown as AsmItem])).toThrowError(
      expect.objectContaining({ code: 'ASM_INVALID_OPERAND' }),
    );
  });

  it('rejects a jump beyond the s16 offset, counting LD_IMM64 twice', () => {
    const fits = [ja('far'), ...Array.from({ length: 32_767 }, () => Mov.imm(R0, 0)), label('far'), exit()];
    expect(resolveLabels(fits).instructions[0]?.offset).toBe(32_767);

    const tooFar = [ja('far'), ...Array.from({ length: 16_384 }, () => loadImm64(R0, 0)), label('far'), exit()];
    expect(() => resolveLabels(tooFar)).toThrowError(
      expect.objectContaining({
        code: 'ASM_JUMP_RANGE',
        message: "instruction 0 jumps 32768 slots to 'far', beyond the ±32767 a jump offset can reach.",
      }),
    );

    const backwards = [exit().withSymbol('start'), ...Array.from({ length: 32_768 }, () => Mov.imm(R0, 0)), ja('start')];
    expect(() => resolveLabels(backwards)).toThrowError(expect.objectContaining({ code: 'ASM_JUMP_RANGE' }));
  });

  it('resolves gotol and bpf-to-bpf calls into imm, which reaches further', () => {
    const long = [jaLong('far'), ...Array.from({ length: 40_000 }, () => Mov.imm(R0, 0)), label('far'), exit()];
    const resolved = resolveLabels(long).instructions[0];
    expect(resolved?.imm).toBe(40_000);
    expect(resolved?.offset).toBe(0);

    const calls = [callLocal('fn'), exit(), label('fn'), Mov.imm(R0, 1), exit()];
    expect(hex(calls)).toBe('8510000001000000 9500000000000000 b700000001000000 9500000000000000');
  });
});

describe('assemble', () => {
  it('resolves, relocates maps and encodes in one step', () => {
    const result = assemble(
      [
        Mov.reg(R2, R0),
        loadMapPtr(R1, 'counters'),
        call('map_lookup_elem'),
        JEq.imm(R0, 0, 'miss'),
        loadMem(R0, R0, 0, 'DW'),
        label('miss'),
        exit(),
      ],
      { maps: new Map([['counters', 9]]) },
    );
    expect(result.slotCount).toBe(7);
    expect(result.bytes.length).toBe(56);
    expect(toHex(result.bytes)).toBe(
      [
        'bf02000000000000',
        '1811000009000000 0000000000000000',
        '8500000001000000',
        '1500010000000000',
        '7900000000000000',
        '9500000000000000',
      ].join(' '),
    );
    // The resolved instructions keep the symbolic map; only the bytes carry the fd.
    expect(result.instructions[1]?.map).toBe('counters');
    expect(result.instructions[1]?.imm).toBe(0n);
  });

  it('collects source locations by slot for line info', () => {
    const at = (line: number) => ({ file: 'policy.ts', line, column: 3 });
    const { lineInfo } = assemble([
      loadImm64(R0, 1).withSource(at(10)),
      Add.imm(R0, 1),
      exit().withSource(at(12)),
    ]);
    expect(lineInfo).toEqual([
      { slot: 0, source: at(10) },
      { slot: 3, source: at(12) },
    ]);
  });

  it('encodes an empty program to no bytes', () => {
    expect(encode([]).length).toBe(0);
  });

  it('keeps the instruction list untouched', () => {
    const items = [JEq.imm(R1, 0, 'out'), label('out'), exit()];
    assemble(items);
    expect((items[0] as Instruction).offset).toBe(0);
  });
});
