// @syrup/backend-ebpf/asm: the eBPF instruction set (pure; no syscalls).
// Owns instruction builders, opcodes and registers, helper ids, the assembler (labels and
// symbolic maps), the decoder and the disassembler.
export { AsmError } from './asm-error.js';
export type { AsmErrorCode } from './asm-error.js';

export {
  AluCode,
  AtomicCode,
  CallSrc,
  Endian,
  INSTRUCTION_SIZE,
  InsnClass,
  JumpCode,
  Mode,
  Opcode,
  PseudoSrc,
  SIZE_BYTES,
  Size,
  Source,
  opClass,
  opCode,
  opMode,
  opSize,
  opSource,
} from './opcode.js';

export { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10, RFP, isRegister } from './register.js';
export type { Register } from './register.js';

export { Instruction, referenceField } from './instruction.js';
export type { InstructionFields, ReferenceField, SourceLocation } from './instruction.js';

export {
  Add,
  And,
  ArSh,
  Div,
  LSh,
  Mod,
  Mov,
  Mul,
  Or,
  RSh,
  SDiv,
  SMod,
  Sub,
  Xor,
  aluImm,
  aluReg,
  byteSwap,
  movSx,
  movSx32,
  neg,
  neg32,
  toBigEndian,
  toLittleEndian,
} from './alu.js';
export type { AluEmitter, AluOp, AluWidth, SwapBits } from './alu.js';

export {
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
  call,
  callLocal,
  exit,
  ja,
  jaLong,
  jumpImm,
  jumpReg,
} from './jump.js';
export type { JumpCond, JumpEmitter, JumpTarget, JumpWidth } from './jump.js';

export {
  loadAbs,
  loadImm64,
  loadInd,
  loadMapPtr,
  loadMapValue,
  loadMem,
  loadMemSx,
  storeImm,
  storeMem,
} from './load-store.js';
export type { NarrowSize } from './load-store.js';

export { atomic, atomicCmpXchg, atomicFetch, atomicXchg } from './atomic.js';
export type { AtomicOp, AtomicSize } from './atomic.js';

export { HELPER_IDS, helperId, helperName } from './helpers.js';
export type { HelperName } from './helpers.js';

export { assemble, encode, isLabel, label, resolveLabels } from './assemble.js';
export type {
  AsmItem,
  AssembledProgram,
  EncodeOptions,
  Label,
  MapFdResolver,
  ResolvedProgram,
  SlotSource,
} from './assemble.js';

export { decode } from './decode.js';

export { disassemble, formatInstruction } from './disasm.js';
export type { DisasmOptions, FormatOptions } from './disasm.js';
