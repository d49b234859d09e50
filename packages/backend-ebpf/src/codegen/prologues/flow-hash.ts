import { LSh, Mov, Mul, Or, R1, R2, R3, R4, R5, RSh, Xor, loadImm64, loadMem, storeMem } from '../../asm/index.js';
import type { Register } from '../../asm/index.js';
import type { TargetLowering } from '../codegen-target.js';
import type { Emitter } from '../emitter.js';
import { emitWideMultiplyRegisters } from '../wide-arithmetic.js';
import { FP } from '../operands.js';
import type { FlowHashSlots } from '../input-locations.js';

/** The multipliers of core's `flowHash` (MurmurHash3's 64-bit finaliser). */
export const FLOW_HASH_CONSTANTS = Object.freeze({
  ports: 0x9e37_79b9_7f4a_7c15n,
  first: 0xff51_afd7_ed55_8ccdn,
  second: 0xc4ce_b9fe_1a85_ec53n,
});

/**
 * Emits core's `flowHash` bit for bit: all arithmetic is ALU64, which wraps modulo 2^64 as the
 * reference does, and the final 32-bit move truncates as its `& 0xffffffff`. Uses r1-r5. Under
 * the `u32-operands` lowering each product is three 32x32-bit partial products.
 */
export function emitFlowHash(e: Emitter, slots: FlowHashSlots, arithmetic: TargetLowering['arithmetic'] = 'native'): void {
  const multiply = (x: Register, t1: Register, t2: Register): void => {
    if (arithmetic === 'native') e.emit(Mul.reg(x, R5));
    else emitWideMultiplyRegisters(e, x, R5, t1, t2);
  };
  e.emit(loadMem(R1, FP, slots.addresses[0], 'DW'), loadMem(R2, FP, slots.addresses[1], 'DW'));
  e.emit(loadMem(R3, FP, slots.ports[0], 'DW'), loadMem(R4, FP, slots.ports[1], 'DW'));
  // addresses = (source << 32) | destination; ports = (source << 16) | destination
  e.emit(LSh.imm(R1, 32), Or.reg(R1, R2), LSh.imm(R3, 16), Or.reg(R3, R4));
  e.emit(loadImm64(R5, FLOW_HASH_CONSTANTS.ports));
  multiply(R3, R2, R4);
  e.emit(Xor.reg(R1, R3));
  for (const multiplier of [FLOW_HASH_CONSTANTS.first, FLOW_HASH_CONSTANTS.second]) {
    // x ^= x >> 33; x *= multiplier (x in r1)
    e.emit(Mov.reg(R2, R1), RSh.imm(R2, 33), Xor.reg(R1, R2), loadImm64(R5, multiplier));
    multiply(R1, R2, R3);
  }
  e.emit(Mov.reg(R2, R1), RSh.imm(R2, 33), Xor.reg(R1, R2));
  e.emit(Mov.reg32(R1, R1), storeMem(FP, slots.hash, R1, 'DW'));
}
