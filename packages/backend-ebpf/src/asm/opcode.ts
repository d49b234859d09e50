/**
 * eBPF opcode constants (RFC 9669, Documentation/bpf/standardization/instruction-set.rst).
 *
 * Every instruction is 8 bytes in the encoding this package targets (little-endian hosts):
 *
 *     byte 0    byte 1             bytes 2-3          bytes 4-7
 *   +--------+--------+--------+------------------+--------------------+
 *   | opcode | src:4  | dst:4  | offset (s16, LE) | immediate (s32, LE)|
 *   +--------+--------+--------+------------------+--------------------+
 *              high nibble = src, low nibble = dst
 *
 * The opcode byte's low three bits are the class, and the class decides how the other five
 * bits are read.
 *
 * Arithmetic and jump classes (ALU, ALU64, JMP, JMP32):
 *
 *     7      4   3     2       0
 *   +---------+------+----------+
 *   | op code |source|  class   |
 *   +---------+------+----------+
 *
 *   source 0 (K) takes the immediate as the second operand, 1 (X) takes the src register.
 *   For END (byte swap) the same bit picks the target byte order instead.
 *
 * Load and store classes (LD, LDX, ST, STX):
 *
 *     7    5   4  3   2       0
 *   +-------+------+----------+
 *   | mode  | size |  class   |
 *   +-------+------+----------+
 *
 * LD_IMM64 (LD | IMM | DW) is the only instruction that spans two 8-byte slots: the second
 * slot is all zeros except its immediate, which holds the high 32 bits of the constant.
 */

/** The instruction class, opcode bits 0-2. */
export const InsnClass = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;
export type InsnClass = keyof typeof InsnClass;

/** Access width of a load or store, opcode bits 3-4. */
export const Size = {
  W: 0x00,
  H: 0x08,
  B: 0x10,
  DW: 0x18,
} as const;
export type Size = keyof typeof Size;

/** Addressing mode of a load or store, opcode bits 5-7. */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;
export type Mode = keyof typeof Mode;

/** Operand source bit of ALU and JMP classes, opcode bit 3. */
export const Source = {
  K: 0x00,
  X: 0x08,
} as const;
export type Source = keyof typeof Source;

/** Byte order selected by the source bit of END: it names the order converted to. */
export const Endian = {
  TO_LE: 0x00,
  TO_BE: 0x08,
} as const;

/** Arithmetic operation codes, opcode bits 4-7 of the ALU and ALU64 classes. */
export const AluCode = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

/** Jump operation codes, opcode bits 4-7 of the JMP and JMP32 classes. */
export const JumpCode = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
} as const;

/**
 * Immediates of STX | ATOMIC. The arithmetic ones reuse the ALU codes; FETCH asks for the old
 * value back in the src register. XCHG and CMPXCHG always fetch, so FETCH is part of their code.
 */
export const AtomicCode = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe1,
  CMPXCHG: 0xf1,
} as const;

/** The src field of LD_IMM64 says how the kernel should read the immediate. */
export const PseudoSrc = {
  /** A plain 64-bit constant. */
  NONE: 0,
  /** imm is a map fd; the register receives the map pointer. */
  MAP_FD: 1,
  /** imm is a map fd and the second slot's imm an offset into the map's single value. */
  MAP_VALUE: 2,
  BTF_ID: 3,
  FUNC: 4,
  MAP_IDX: 5,
  MAP_IDX_VALUE: 6,
} as const;

/** The src field of CALL says what imm identifies. */
export const CallSrc = {
  /** imm is a helper id. */
  HELPER: 0,
  /** imm is a pc-relative offset to a bpf-to-bpf function. */
  PSEUDO_CALL: 1,
  /** imm is a BTF id of a kernel function. */
  KFUNC: 2,
} as const;

/** Well-known complete opcodes. */
export const Opcode = {
  /** LD | IMM | DW: the two-slot 64-bit immediate load. */
  LD_IMM64: InsnClass.LD | Mode.IMM | Size.DW,
  CALL: InsnClass.JMP | JumpCode.CALL,
  EXIT: InsnClass.JMP | JumpCode.EXIT,
  JA: InsnClass.JMP | JumpCode.JA,
  /** JMP32 | JA: the long jump whose target offset is in imm instead of off. */
  JA32: InsnClass.JMP32 | JumpCode.JA,
} as const;

/** Number of bytes in one instruction slot. */
export const INSTRUCTION_SIZE = 8;

const CLASS_NAMES = ['LD', 'LDX', 'ST', 'STX', 'ALU', 'JMP', 'JMP32', 'ALU64'] as const;
const SIZE_NAMES = ['W', 'H', 'B', 'DW'] as const;

/** The class of an opcode byte. */
export function opClass(opcode: number): InsnClass {
  return CLASS_NAMES[opcode & 0x07] as InsnClass;
}

/** The size field of a load/store opcode. */
export function opSize(opcode: number): Size {
  return SIZE_NAMES[(opcode >> 3) & 0x03] as Size;
}

/** The mode bits (0x00..0xe0) of a load/store opcode. */
export function opMode(opcode: number): number {
  return opcode & 0xe0;
}

/** The operation bits (0x00..0xf0) of an ALU or JMP opcode. */
export function opCode(opcode: number): number {
  return opcode & 0xf0;
}

/** The source bit (0x00 or 0x08) of an ALU or JMP opcode. */
export function opSource(opcode: number): number {
  return opcode & 0x08;
}

/** Width in bytes of each load/store size. */
export const SIZE_BYTES: Readonly<Record<Size, 1 | 2 | 4 | 8>> = { B: 1, H: 2, W: 4, DW: 8 };
