import { AsmError } from './asm-error.js';
import { Instruction } from './instruction.js';
import { InsnClass, Mode, Opcode, PseudoSrc, Size } from './opcode.js';
import { checkImm32, checkImm64, checkS16, checkS32 } from './range.js';
import { checkRegister, checkWritable, type Register } from './register.js';

/** Sizes the legacy packet loads and sign-extending loads accept (no DW). */
export type NarrowSize = Exclude<Size, 'DW'>;

function sizeBits(size: Size, allowed: readonly Size[], what: string): number {
  if (!allowed.includes(size)) {
    throw new AsmError('ASM_INVALID_OPERAND', `${what} does not support size ${String(size)}.`);
  }
  return Size[size];
}

const ALL_SIZES: readonly Size[] = ['B', 'H', 'W', 'DW'];
const NARROW_SIZES: readonly Size[] = ['B', 'H', 'W'];

/** `dst = *(size *)(src + offset)`, zero-extended. */
export function loadMem(dst: Register, src: Register, offset: number, size: Size): Instruction {
  const bits = sizeBits(size, ALL_SIZES, 'a memory load');
  checkWritable(dst, 'destination of a load');
  checkRegister(src, 'base of a load');
  return new Instruction({ opcode: InsnClass.LDX | Mode.MEM | bits, dst, src, offset: checkS16(offset, 'load offset') });
}

/** `dst = *(s<size> *)(src + offset)`, sign-extended to 64 bits (kernel 6.6). */
export function loadMemSx(dst: Register, src: Register, offset: number, size: NarrowSize): Instruction {
  const bits = sizeBits(size, NARROW_SIZES, 'a sign-extending load');
  checkWritable(dst, 'destination of a load');
  checkRegister(src, 'base of a load');
  return new Instruction({ opcode: InsnClass.LDX | Mode.MEMSX | bits, dst, src, offset: checkS16(offset, 'load offset') });
}

/** `*(size *)(dst + offset) = src`. */
export function storeMem(dst: Register, offset: number, src: Register, size: Size): Instruction {
  const bits = sizeBits(size, ALL_SIZES, 'a memory store');
  checkRegister(dst, 'base of a store');
  checkRegister(src, 'source of a store');
  return new Instruction({ opcode: InsnClass.STX | Mode.MEM | bits, dst, src, offset: checkS16(offset, 'store offset') });
}

const STORE_IMM_RANGE: Readonly<Record<NarrowSize, readonly [number, number]>> = {
  B: [-0x80, 0xff],
  H: [-0x8000, 0xffff],
  W: [-0x8000_0000, 0xffff_ffff],
};

/**
 * `*(size *)(dst + offset) = imm`. A DW store sign-extends imm, so it must fit in s32; narrower
 * stores accept the signed or unsigned spelling of a value that fits the size.
 */
export function storeImm(dst: Register, offset: number, imm: number, size: Size): Instruction {
  const bits = sizeBits(size, ALL_SIZES, 'an immediate store');
  checkRegister(dst, 'base of a store');
  let value: number;
  if (size === 'DW') {
    value = checkS32(imm, 'stored immediate');
  } else {
    const [min, max] = STORE_IMM_RANGE[size];
    if (!Number.isInteger(imm) || imm < min || imm > max) {
      throw new AsmError('ASM_IMMEDIATE_RANGE', `stored immediate ${String(imm)} does not fit in size ${size}.`);
    }
    value = checkImm32(imm, 'stored immediate');
  }
  return new Instruction({ opcode: InsnClass.ST | Mode.MEM | bits, dst, offset: checkS16(offset, 'store offset'), imm: value });
}

/** `dst = value`: any 64-bit constant, given signed or unsigned. Occupies two slots. */
export function loadImm64(dst: Register, value: number | bigint): Instruction {
  checkWritable(dst, 'destination of LD_IMM64');
  return new Instruction({ opcode: Opcode.LD_IMM64, dst, imm: checkImm64(value, 'LD_IMM64 constant') });
}

/**
 * `dst = &map`: loads the pointer to the map named `map`. The name is replaced by the map's fd
 * when the program is encoded (src = BPF_PSEUDO_MAP_FD), and the kernel swaps the fd for the
 * map's address at load time. Occupies two slots.
 */
export function loadMapPtr(dst: Register, map: string): Instruction {
  checkWritable(dst, 'destination of a map load');
  return new Instruction({ opcode: Opcode.LD_IMM64, dst, src: PseudoSrc.MAP_FD, map: mapName(map) });
}

/**
 * `dst = &map.value + offset`: a pointer into the single value of an array map with one
 * element (src = BPF_PSEUDO_MAP_VALUE), the fd patched at encode time as for loadMapPtr.
 * Occupies two slots.
 */
export function loadMapValue(dst: Register, map: string, offset = 0): Instruction {
  checkWritable(dst, 'destination of a map value load');
  if (!Number.isInteger(offset) || offset < 0 || offset > 0xffff_ffff) {
    throw new AsmError('ASM_OFFSET_RANGE', `map value offset ${String(offset)} is not an unsigned 32-bit integer.`);
  }
  return new Instruction({
    opcode: Opcode.LD_IMM64,
    dst,
    src: PseudoSrc.MAP_VALUE,
    imm: BigInt(offset) << 32n,
    map: mapName(map),
  });
}

/**
 * `r0 = ntoh(*(size *)(skb->data + offset))`: the legacy packet load socket filters use.
 * Implicitly reads the context from r6 and clobbers r1-r5; an out-of-bounds read ends the
 * program with return value 0.
 */
export function loadAbs(offset: number, size: NarrowSize): Instruction {
  const bits = sizeBits(size, NARROW_SIZES, 'LD_ABS');
  return new Instruction({ opcode: InsnClass.LD | Mode.ABS | bits, imm: checkS32(offset, 'LD_ABS offset') });
}

/** `r0 = ntoh(*(size *)(skb->data + src + offset))`: as loadAbs, with a register index. */
export function loadInd(src: Register, offset: number, size: NarrowSize): Instruction {
  const bits = sizeBits(size, NARROW_SIZES, 'LD_IND');
  checkRegister(src, 'index of LD_IND');
  return new Instruction({ opcode: InsnClass.LD | Mode.IND | bits, src, imm: checkS32(offset, 'LD_IND offset') });
}

function mapName(map: string): string {
  if (typeof map !== 'string' || map === '') {
    throw new AsmError('ASM_INVALID_OPERAND', 'a map reference needs a non-empty name.');
  }
  return map;
}
