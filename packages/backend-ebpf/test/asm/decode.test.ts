import { describe, expect, it } from 'vitest';
import {
  And,
  AsmError,
  JEq,
  JSGT,
  Mov,
  R0,
  R1,
  R2,
  R3,
  R6,
  R10,
  atomicCmpXchg,
  atomicFetch,
  byteSwap,
  call,
  decode,
  encode,
  exit,
  ja,
  label,
  loadAbs,
  loadImm64,
  loadInd,
  loadMapPtr,
  loadMapValue,
  loadMem,
  storeImm,
  storeMem,
  toBigEndian,
} from '../../src/asm/index.js';
import { fromHex, toHex } from './support.js';

describe('decode', () => {
  const program = [
    Mov.reg(R6, R1),
    loadAbs(12, 'H'),
    loadInd(R1, 4, 'B'),
    loadMem(R2, R6, 0, 'W'),
    toBigEndian(R2, 16),
    byteSwap(R2, 64),
    And.imm32(R2, 0xffff_ffff),
    loadImm64(R3, -2n),
    loadMapPtr(R1, 'm'),
    loadMapValue(R2, 'v', 24),
    storeMem(R10, -8, R2, 'DW'),
    storeImm(R10, -12, -7, 'W'),
    call('map_lookup_elem'),
    JEq.imm(R0, 0, 'out'),
    atomicFetch('add', R0, 0, R3),
    atomicCmpXchg(R0, 8, R3, 'W'),
    JSGT.imm32(R3, -1, 'out'),
    ja(-3),
    label('out'),
    exit(),
  ];
  const maps = new Map([
    ['m', 3],
    ['v', 4],
  ]);

  it('round-trips a program through encode and decode', () => {
    const bytes = encode(program, { maps });
    const decoded = decode(bytes);
    expect(toHex(encode(decoded))).toBe(toHex(bytes));
    expect(decoded.length).toBe(program.length - 1); // the label marker is not an instruction
  });

  it('recovers the raw fields, with maps as raw fds', () => {
    const decoded = decode(encode(program, { maps }));
    expect(decoded[7]).toMatchObject({ opcode: 0x18, dst: 3, src: 0, imm: 0xffff_ffff_ffff_fffen });
    expect(decoded[8]).toMatchObject({ opcode: 0x18, dst: 1, src: 1, imm: 3n, map: undefined });
    expect(decoded[9]).toMatchObject({ src: 2, imm: (24n << 32n) | 4n });
    expect(decoded[11]).toMatchObject({ opcode: 0x62, dst: 10, offset: -12, imm: -7 });
    expect(decoded[6]).toMatchObject({ imm: -1 });
    expect(decoded[13]).toMatchObject({ opcode: 0x15, offset: 4, reference: undefined }); // slot 16 to slot 21
  });

  it('reads src from the high nibble and dst from the low nibble', () => {
    const [ins] = decode(fromHex('bf10000000000000'));
    expect(ins).toMatchObject({ opcode: 0xbf, dst: 0, src: 1 });
  });

  it('reads the 64-bit constant cilium/ebpf uses as its LD_IMM64 anchor', () => {
    const [ins] = decode(fromHex('18000000ffffff7f 00000000ffffffff'));
    expect(ins?.imm).toBe(BigInt.asUintN(64, -2_147_483_649n));
  });

  it('honours the byte offset of a view into a larger buffer', () => {
    const bytes = encode([Mov.imm(R0, 1), exit()]);
    const padded = new Uint8Array(24);
    padded.set(bytes, 8);
    expect(toHex(encode(decode(padded.subarray(8, 24))))).toBe(toHex(bytes));
    expect(decode(Buffer.from(bytes)).length).toBe(2);
  });

  it('rejects a length that is not a multiple of 8', () => {
    expect(() => decode(new Uint8Array(12))).toThrowError(AsmError);
    expect(() => decode(new Uint8Array(12))).toThrowError(expect.objectContaining({ code: 'ASM_TRUNCATED' }));
  });

  it('rejects an LD_IMM64 without its second slot', () => {
    expect(() => decode(fromHex('9500000000000000 1801000001000000'))).toThrowError(
      expect.objectContaining({
        code: 'ASM_TRUNCATED',
        message: 'the LD_IMM64 at instruction 1 is missing its second slot.',
      }),
    );
  });

  it('rejects an LD_IMM64 whose second slot is not empty', () => {
    expect(() => decode(fromHex('1801000001000000 9500000000000000'))).toThrowError(
      expect.objectContaining({ code: 'ASM_MALFORMED_LD_IMM64' }),
    );
  });

  it('decodes opcodes it has no builder for, so they can be shown', () => {
    const [ins] = decode(fromHex('ff21000000000000'));
    expect(ins).toMatchObject({ opcode: 0xff, dst: 1, src: 2 });
  });
});
