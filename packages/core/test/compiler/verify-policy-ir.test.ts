import { describe, expect, it } from 'vitest';
import { POLICY_IR_VERSION, type IrInsn, type PolicyIr } from '../../src/ir/policy-ir.js';
import { PolicyIrError, verifyPolicyIr, type PolicyIrCheck } from '../../src/ir/verify-policy-ir.js';

const manifest = {
  name: 'p',
  input: 'udp' as const,
  maps: { next: { kind: 'array' as const, key: 'u32' as const, value: 'u64' as const, maxEntries: 1 } },
  params: {},
};
const ir = (insns: IrInsn[], registerCount = 4): PolicyIr => ({ version: POLICY_IR_VERSION, manifest, fileName: 'p.ts', registerCount, insns });
const message = (program: PolicyIr, check: PolicyIrCheck = 'strict'): string | undefined => {
  try {
    verifyPolicyIr(program, check);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyIrError);
    expect((error as PolicyIrError).code).toBe('POLICY_IR_INVALID');
    return (error as Error).message;
  }
};

describe('verifyPolicyIr', () => {
  it('accepts a program with a backward jump (other producers may emit loops)', () => {
    expect(
      message(
        ir([
          { op: 'const', dst: 0, value: 0n },
          { op: 'label', label: 'top' },
          { op: 'binary', kind: 'add', dst: 0, a: 0, b: 1n },
          { op: 'jump-if', kind: 'lt', a: 0, b: 10n, target: 'top' },
          { op: 'return', verdict: 'executor', value: 0 },
        ]),
      ),
    ).toBeUndefined();
  });

  it.each<[string, IrInsn[], string]>([
    ['a read before any write', [{ op: 'return', verdict: 'executor', value: 1 }], 'instruction 0 (return): register r1 may be read before it is written.'],
    [
      'a read written on one path only',
      [
        { op: 'input', dst: 0, field: 'len' },
        { op: 'jump-if', kind: 'eq', a: 0, b: 0n, target: 'skip' },
        { op: 'mov', dst: 1, src: 5n },
        { op: 'label', label: 'skip' },
        { op: 'return', verdict: 'executor', value: 1 },
      ],
      'instruction 4 (return): register r1 may be read before it is written.',
    ],
    ['unreachable code', [{ op: 'return', verdict: 'pass' }, { op: 'return', verdict: 'drop' }], 'instruction 1 (return): unreachable code.'],
    ['falling off the end', [{ op: 'input', dst: 0, field: 'len' }], 'instruction 0: the last instruction can fall through off the end.'],
    ['an undefined label', [{ op: 'jump', target: 'nowhere' }], 'instruction 0 (jump): label "nowhere" is not defined.'],
    ['an undeclared map', [{ op: 'map-get', dst: 0, map: 'other', key: 0n }, { op: 'return', verdict: 'pass' }], 'instruction 0 (map-get): map "other" is not declared.'],
    ['a field of another input kind', [{ op: 'input', dst: 0, field: 'tid' }, { op: 'return', verdict: 'pass' }], 'instruction 0 (input): a udp input has no field "tid".'],
    ['a region of another input kind', [{ op: 'load', dst: 0, region: 'data', offset: 0n, size: 1, byteOrder: 'be' }, { op: 'return', verdict: 'pass' }], 'instruction 0 (load): a udp input has no region "data".'],
    ['an immediate beyond u64', [{ op: 'return', verdict: 'executor', value: 1n << 64n }], 'instruction 0 (return): value immediate 18446744073709551616 is not a u64.'],
    ['a register out of range', [{ op: 'const', dst: 9, value: 1n }, { op: 'return', verdict: 'pass' }], 'instruction 0 (const): dst 9 is not a register below 4.'],
  ])('refuses %s', (_, insns, expected) => {
    expect(message(ir(insns))).toBe(expected);
  });

  it('checks each instruction but not the control flow in lenient mode (what code generators ask for)', () => {
    // Flow: a read before any write, unreachable code, a fall-through off the end all pass.
    expect(message(ir([{ op: 'return', verdict: 'executor', value: 1 }]), 'lenient')).toBeUndefined();
    expect(message(ir([{ op: 'return', verdict: 'pass' }, { op: 'return', verdict: 'drop' }]), 'lenient')).toBeUndefined();
    expect(message(ir([{ op: 'input', dst: 0, field: 'len' }]), 'lenient')).toBeUndefined();
    // Instructions: refused in the same words as in strict mode.
    expect(message(ir([{ op: 'jump', target: 'nowhere' }]), 'lenient')).toBe('instruction 0 (jump): label "nowhere" is not defined.');
    expect(message(ir([{ op: 'helper', dst: 0, helper: 'rdtsc' as never }, { op: 'return', verdict: 'pass' }]), 'lenient')).toBe(
      'instruction 0 (helper): unknown helper "rdtsc".',
    );
    expect(message({ ...ir([{ op: 'return', verdict: 'pass' }]), registerCount: -1 }, 'lenient')).toBe('policy IR register count -1 is not a non-negative integer.');
  });
});
