import { describe, expect, it } from 'vitest';
import {
  Add,
  And,
  ArSh,
  Div,
  Instruction,
  JEq,
  JGT,
  JSet,
  JSLT,
  LSh,
  Mod,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R6,
  R10,
  SDiv,
  SMod,
  Sub,
  Xor,
  atomic,
  atomicCmpXchg,
  atomicFetch,
  atomicXchg,
  byteSwap,
  call,
  callLocal,
  decode,
  disassemble,
  encode,
  exit,
  formatInstruction,
  ja,
  jaLong,
  label,
  loadAbs,
  loadImm64,
  loadInd,
  loadMapPtr,
  loadMapValue,
  loadMem,
  loadMemSx,
  movSx,
  movSx32,
  neg,
  neg32,
  storeImm,
  storeMem,
  toBigEndian,
  toLittleEndian,
  type AsmItem,
} from '../../src/asm/index.js';
import { fromHex } from './support.js';

// The expected text is what the kernel's verifier log prints for the same instruction
// (kernel/bpf/disasm.c), with the opcode byte in parentheses.
const lines: [Instruction, string][] = [
  [Mov.imm(R0, 1), '(b7) r0 = 1'],
  [Mov.imm(R0, -1), '(b7) r0 = -1'],
  [Mov.reg32(R0, R1), '(bc) w0 = w1'],
  [Add.imm(R0, 1), '(07) r0 += 1'],
  [Sub.reg(R1, R2), '(1f) r1 -= r2'],
  [Div.imm32(R1, 3), '(34) w1 /= 3'],
  [SDiv.reg(R1, R2), '(3f) r1 s/= r2'],
  [Mod.reg32(R1, R2), '(9c) w1 %= w2'],
  [SMod.imm(R1, 3), '(97) r1 s%= 3'],
  [And.imm(R1, 0xff), '(57) r1 &= 255'],
  [Xor.reg(R1, R1), '(af) r1 ^= r1'],
  [LSh.imm32(R1, 3), '(64) w1 <<= 3'],
  [ArSh.imm(R1, 1), '(c7) r1 s>>= 1'],
  [neg(R1), '(87) r1 = -r1'],
  [neg32(R1), '(84) w1 = -w1'],
  [movSx(R1, R2, 16), '(bf) r1 = (s16)r2'],
  [movSx32(R1, R2, 8), '(bc) w1 = (s8)w2'],
  [toBigEndian(R1, 16), '(dc) r1 = be16 r1'],
  [toLittleEndian(R1, 32), '(d4) r1 = le32 r1'],
  [byteSwap(R1, 64), '(d7) r1 = bswap64 r1'],
  [loadMem(R1, R6, 0, 'W'), '(61) r1 = *(u32 *)(r6 +0)'],
  [loadMem(R1, R10, -8, 'DW'), '(79) r1 = *(u64 *)(r10 -8)'],
  [loadMemSx(R1, R2, 2, 'H'), '(89) r1 = *(s16 *)(r2 +2)'],
  [storeMem(R10, -8, R1, 'DW'), '(7b) *(u64 *)(r10 -8) = r1'],
  [storeMem(R1, 3, R2, 'B'), '(73) *(u8 *)(r1 +3) = r2'],
  [storeImm(R10, -4, -7, 'W'), '(62) *(u32 *)(r10 -4) = -7'],
  [loadImm64(R1, 0x1122_3344_5566_7788n), '(18) r1 = 0x1122334455667788'],
  [loadImm64(R1, -1), '(18) r1 = 0xffffffffffffffff'],
  [loadMapPtr(R1, 'counters'), '(18) r1 = map[name:counters]'],
  [loadMapValue(R1, 'config', 16), '(18) r1 = map[name:config][0]+16'],
  [loadAbs(12, 'H'), '(28) r0 = *(u16 *)skb[12]'],
  [loadInd(R1, 4, 'B'), '(50) r0 = *(u8 *)skb[r1 + 4]'],
  [atomic('add', R1, 0, R2), '(db) lock *(u64 *)(r1 +0) += r2'],
  [atomic('or', R1, 4, R2, 'W'), '(c3) lock *(u32 *)(r1 +4) |= r2'],
  [atomic('and', R1, 0, R2), '(db) lock *(u64 *)(r1 +0) &= r2'],
  [atomic('xor', R1, 0, R2), '(db) lock *(u64 *)(r1 +0) ^= r2'],
  [atomicFetch('add', R1, 0, R2), '(db) r2 = atomic64_fetch_add((u64 *)(r1 +0), r2)'],
  [atomicFetch('xor', R1, -8, R2, 'W'), '(c3) r2 = atomic_fetch_xor((u32 *)(r1 -8), r2)'],
  [atomicXchg(R1, 0, R2), '(db) r2 = atomic64_xchg((u64 *)(r1 +0), r2)'],
  [atomicCmpXchg(R1, 0, R2), '(db) r0 = atomic64_cmpxchg((u64 *)(r1 +0), r0, r2)'],
  [atomicCmpXchg(R1, 0, R2, 'W'), '(c3) r0 = atomic_cmpxchg((u32 *)(r1 +0), r0, r2)'],
  [JGT.reg(R2, R3, 5), '(2d) if r2 > r3 goto pc+5'],
  [JEq.imm(R1, 0, -2), '(15) if r1 == 0x0 goto pc-2'],
  [JEq.imm(R1, -1, 1), '(15) if r1 == 0xffffffff goto pc+1'],
  [JSet.imm32(R1, 0x80, 1), '(46) if w1 & 0x80 goto pc+1'],
  [JSLT.reg32(R1, R2, 1), '(ce) if w1 s< w2 goto pc+1'],
  [JEq.imm(R1, 0, 'out'), '(15) if r1 == 0x0 goto pc+0 <out>'],
  [ja(3), '(05) goto pc+3'],
  [jaLong(-70_000), '(06) gotol pc-70000'],
  [call('map_lookup_elem'), '(85) call bpf_map_lookup_elem#1'],
  [call('sk_select_reuseport'), '(85) call bpf_sk_select_reuseport#82'],
  [call(5000), '(85) call unknown#5000'],
  [callLocal(4), '(85) call pc+4'],
  [exit(), '(95) exit'],
];

describe('formatInstruction', () => {
  it.each(lines)('%#: %s', (ins, expected) => {
    expect(formatInstruction(ins)).toBe(expected);
  });

  it('can leave out the opcode byte', () => {
    expect(formatInstruction(Mov.reg32(R0, R1), { opcodes: false })).toBe('w0 = w1');
  });

  it('prints instructions only a decoder produces', () => {
    const text = (hex: string) => decode(fromHex(hex)).map((ins) => formatInstruction(ins));
    expect(text('1811000003000000 0000000000000000')).toEqual(['(18) r1 = map[fd:3]']);
    expect(text('1822000004000000 0000000008000000')).toEqual(['(18) r2 = map[fd:4][0]+8']);
    expect(text('8520000007000000')).toEqual(['(85) call kernel-function#7']);
    expect(text('e500020000000000')).toEqual(['(e5) may_goto pc+2']);
    expect(text('bf21010001000000')).toEqual(['(bf) r1 = addr_space_cast(r2, 0, 1)']);
    expect(text('ff00000000000000 9600000000000000 c321000002000000')).toEqual([
      '(ff) invalid opcode 0xff',
      '(96) invalid opcode 0x96',
      '(c3) invalid opcode 0xc3',
    ]);
  });
});

describe('disassemble', () => {
  // The shape of a SITA-like policy at socket-select: bounds check, read, map fetch-add.
  const program: AsmItem[] = [
    Mov.reg(R6, R1),
    loadMem(R2, R6, 0, 'DW').withSource({ file: 'sita.ts', line: 7, column: 5 }),
    loadMem(R3, R6, 8, 'DW'),
    Mov.reg(R1, R2),
    Add.imm(R1, 4),
    JGT.reg(R1, R3, 'pass'),
    loadMem(R1, R2, 0, 'W'),
    toBigEndian(R1, 32),
    JEq.imm32(R1, 1, 'scan'),
    storeImm(R10, -4, 0, 'W'),
    Mov.reg(R2, R10),
    Add.imm(R2, -4),
    loadMapPtr(R1, 'next'),
    call('map_lookup_elem'),
    JEq.imm(R0, 0, 'pass'),
    Mov.imm(R1, 1),
    atomicFetch('add', R0, 0, R1),
    Mod.imm(R1, 5),
    Add.imm(R1, 1),
    Mov.reg32(R0, R1),
    exit(),
    label('scan'),
    Mov.imm(R0, 0),
    exit(),
    label('pass'),
    label('drop'),
    Mov.imm(R0, -1).withSource({ file: 'sita.ts', line: 4, column: 35 }),
    exit(),
  ];

  it('lists a program with slot indices, labels and resolved jumps', () => {
    expect(disassemble(program)).toBe(
      `0: (bf) r6 = r1
1: (79) r2 = *(u64 *)(r6 +0)
2: (79) r3 = *(u64 *)(r6 +8)
3: (bf) r1 = r2
4: (07) r1 += 4
5: (2d) if r1 > r3 goto pc+18 <pass>
6: (61) r1 = *(u32 *)(r2 +0)
7: (dc) r1 = be32 r1
8: (16) if w1 == 0x1 goto pc+13 <scan>
9: (62) *(u32 *)(r10 -4) = 0
10: (bf) r2 = r10
11: (07) r2 += -4
12: (18) r1 = map[name:next]
14: (85) call bpf_map_lookup_elem#1
15: (15) if r0 == 0x0 goto pc+8 <pass>
16: (b7) r1 = 1
17: (db) r1 = atomic64_fetch_add((u64 *)(r0 +0), r1)
18: (97) r1 %= 5
19: (07) r1 += 1
20: (bc) w0 = w1
21: (95) exit
scan:
22: (b7) r0 = 0
23: (95) exit
pass:
drop:
24: (b7) r0 = -1
25: (95) exit`,
    );
  });

  it('can print without opcodes, with source locations', () => {
    const text = disassemble(program, { opcodes: false, sources: true }).split('\n');
    expect(text.slice(0, 3)).toEqual(['0: r6 = r1', '1: r2 = *(u64 *)(r6 +0)  ; sita.ts:7:5', '2: r3 = *(u64 *)(r6 +8)']);
    expect(text.slice(-3)).toEqual(['drop:', '24: r0 = -1  ; sita.ts:4:35', '25: exit']);
  });

  it('lists encoded bytes, where maps are fds and jumps plain offsets', () => {
    const bytes = encode(program, { maps: new Map([['next', 4]]) });
    const text = disassemble(bytes, { opcodes: false }).split('\n');
    expect(text.length).toBe(25);
    expect(text.slice(11, 15)).toEqual([
      '11: r2 += -4',
      '12: r1 = map[fd:4]',
      '14: call bpf_map_lookup_elem#1',
      '15: if r0 == 0x0 goto pc+8',
    ]);
  });

  it('can leave labels out', () => {
    const text = disassemble([JEq.imm(R1, 0, 'out'), label('out'), exit()], { labels: false });
    expect(text).toBe('0: (15) if r1 == 0x0 goto pc+0\n1: (95) exit');
  });

  it('still lists a program whose labels cannot be resolved, naming the targets', () => {
    const text = disassemble([label('top'), JEq.imm(R1, 0, 'missing'), ja('top'), exit()]);
    expect(text).toBe('top:\n0: (15) if r1 == 0x0 goto <missing>\n1: (05) goto <top>\n2: (95) exit');
  });
});
