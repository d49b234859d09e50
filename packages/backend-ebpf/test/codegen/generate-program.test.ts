import { describe, expect, it } from 'vitest';
import type { IrInsn, PolicyIr } from '@syrup/core';
import { assemble, disassemble } from '../../src/asm/index.js';
import { CodegenError } from '../../src/codegen/codegen-error.js';
import { generateProgram, generateTestHarness } from '../../src/codegen/generate-program.js';
import { originOfSlot, sourceOfSlot } from '../../src/codegen/program-spec.js';
import { array, hash, lruHash, percpuArray, policyIr, sitaIr } from './support.js';

function codeOf(insns: readonly IrInsn[], input: 'udp' | 'packet' = 'udp'): string {
  const spec = generateProgram(policyIr({ input, maps: { m: array(4) }, insns }), { target: 'xdp-drv' });
  return disassemble(spec.instructions, { opcodes: false });
}

function expectCodegenError(run: () => unknown, code: string): void {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CodegenError);
    expect((error as CodegenError).code).toBe(code);
    return;
  }
  expect.fail(`expected a CodegenError ${code}`);
}

describe('generateProgram', () => {
  it('describes an SK_REUSEPORT program with a socket array of executors', () => {
    const spec = generateProgram(sitaIr(), { target: 'socket-select', maxExecutors: 6 });
    expect(spec).toMatchObject({
      name: 'sita',
      target: 'socket-select',
      input: 'udp',
      fileName: 'policy.ts',
      programType: 'sk_reuseport',
      programTypeNumber: 21,
      expectedAttachType: 'sk_reuseport_select',
      expectedAttachTypeNumber: 39,
      license: 'Dual BSD/GPL',
    });
    expect(spec.maps).toEqual([
      { name: 'next', role: 'data', type: 'array', mapType: 2, keySize: 4, valueSize: 8, maxEntries: 1, dataSpec: array(1) },
      { name: '.executors', role: 'executors', type: 'reuseport_sockarray', mapType: 20, keySize: 4, valueSize: 8, maxEntries: 6 },
    ]);
    expect(spec.stackSize).toBeLessThanOrEqual(512);
    expect(assemble(spec.instructions, { maps: () => 3 }).slotCount).toBe(spec.slotCount);
  });

  it('describes XDP programs whose executors are AF_XDP sockets or CPUs', () => {
    const ir = policyIr({
      input: 'packet',
      maps: { a: array(), b: hash(), c: percpuArray(), d: lruHash() },
      insns: [{ op: 'return', verdict: 'executor', value: 1n }],
    });
    for (const hook of ['xdp-skb', 'xdp-drv'] as const) {
      const spec = generateProgram(ir, { target: hook });
      expect(spec.programType).toBe('xdp');
      expect(spec.expectedAttachTypeNumber).toBe(37);
      expect(spec.maps.at(-1)).toEqual({ name: '.executors', role: 'executors', type: 'xskmap', mapType: 17, keySize: 4, valueSize: 4, maxEntries: 64 });
    }
    const cpu = generateProgram(ir, { target: 'cpu-redirect' });
    expect(cpu.maps.map((m) => [m.name, m.type, m.mapType])).toEqual([
      ['a', 'array', 2],
      ['b', 'hash', 1],
      ['c', 'percpu_array', 6],
      ['d', 'lru_hash', 9],
      ['.executors', 'cpumap', 16],
    ]);
  });

  it('builds the test harness with a result array instead of executors', () => {
    const spec = generateTestHarness(sitaIr());
    expect(spec.target).toBe('xdp-test-harness');
    expect(spec.maps.at(-1)).toEqual({ name: '.result', role: 'result', type: 'array', mapType: 2, keySize: 4, valueSize: 8, maxEntries: 2 });
  });

  it.each([
    ['socket-select', 'udp'],
    ['socket-select', 'tcp'],
    ['xdp-drv', 'udp'],
    ['cpu-redirect', 'packet'],
  ] as const)('generates the %s code of a %s policy (snapshot)', (hook, input) => {
    const insns: IrInsn[] =
      input === 'packet'
        ? [
            { op: 'input', dst: 0, field: 'length' },
            { op: 'load', dst: 1, region: 'data', offset: 12n, size: 2, byteOrder: 'be' },
            { op: 'binary', kind: 'add', dst: 2, a: 0, b: 1 },
            { op: 'return', verdict: 'executor', value: 2 },
          ]
        : [
            { op: 'input', dst: 0, field: 'hash' },
            { op: 'binary', kind: 'mod', dst: 1, a: 0, b: 4n },
            { op: 'jump-if', kind: 'eq', a: 1, b: 3n, target: 'drop' },
            { op: 'return', verdict: 'executor', value: 1 },
            { op: 'label', label: 'drop' },
            { op: 'return', verdict: 'drop' },
          ];
    const spec = generateProgram(policyIr({ input, insns }), { target: hook });
    expect(disassemble(spec.instructions)).toMatchSnapshot();
  });

  it('generates the SITA policy for socket-select and the XDP harness (snapshot)', () => {
    expect(disassemble(generateProgram(sitaIr(), { target: 'socket-select' }).instructions)).toMatchSnapshot();
    expect(disassemble(generateTestHarness(sitaIr(), { port: 9000 }).instructions)).toMatchSnapshot();
  });

  it('resolves jumps whose outcome is known and drops code no path reaches', () => {
    const text = codeOf([
      { op: 'jump-if', kind: 'lt', a: 1n, b: 2n, target: 'out' },
      { op: 'const', dst: 0, value: 77n },
      { op: 'return', verdict: 'executor', value: 0 },
      { op: 'label', label: 'out' },
      { op: 'return', verdict: 'drop' },
      { op: 'const', dst: 0, value: 99n },
    ]);
    expect(text).not.toContain('77');
    expect(text).not.toContain('99');
    expect(text).not.toContain('.executor');
  });

  it('zeroes a value that may be read before it is written', () => {
    const text = codeOf([
      { op: 'input', dst: 0, field: 'srcPort' },
      { op: 'jump-if', kind: 'eq', a: 0, b: 0n, target: 'read' },
      { op: 'const', dst: 1, value: 5n },
      { op: 'label', label: 'read' },
      { op: 'return', verdict: 'executor', value: 1 },
    ]);
    // v1 gets a register and is zeroed right after the prologue, before the policy's first instruction.
    expect(text).toMatch(/r\d = 0\n.*r\d = \*\(u64 \*\)\(r10 -\d+\)/);
  });

  it('maps every body slot back to its IR instruction and source position', () => {
    const spec = generateProgram(sitaIr(), { target: 'xdp-drv' });
    expect(spec.origins[0]).toEqual({ slot: 0, section: 'prologue' });
    const loadSlot = spec.origins.find((o) => o.irIndex === 2)!.slot;
    expect(originOfSlot(spec, loadSlot + 1)).toMatchObject({ section: 'body', irIndex: 2, pos: { line: 11, column: 9 } });
    expect(sourceOfSlot(spec, loadSlot)).toEqual({ file: 'policy.ts', line: 11, column: 9 });
    expect(sourceOfSlot(spec, 0)).toBeUndefined();
    expect(sourceOfSlot(spec, spec.slotCount - 1)).toBeUndefined();
    // Instructions carry their source too, for the assembler's own line info.
    expect(assemble(spec.instructions, { maps: () => 3 }).lineInfo.find((l) => l.slot === loadSlot)?.source).toEqual({
      file: 'policy.ts',
      line: 11,
      column: 9,
    });
  });

  it('puts the policy source lines into BTF line info, starting at instruction 0', () => {
    const source = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    source[10] = '  if (pkt.payload.u32(0) === 1) return 0;';
    const spec = generateProgram(sitaIr(), { target: 'xdp-drv', sourceText: source.join('\n') });
    const { lines, blob } = spec.btf;
    expect(lines[0]!.insnOff).toBe(0);
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.insnOff).toBeGreaterThan(lines[i - 1]!.insnOff);
    const line11 = lines.find((l) => l.line === 11)!;
    const text = new TextDecoder().decode(blob.subarray(24 + new DataView(blob.buffer).getUint32(16, true) + line11.lineOff)).split('\0')[0];
    expect(text).toBe('if (pkt.payload.u32(0) === 1) return 0;');
    expect(spec.btf.lineInfo.count).toBe(lines.length);
    expect(spec.btf.lineInfo.data.length).toBe(16 * lines.length);
  });

  it('refuses inputs the hook does not offer', () => {
    expectCodegenError(() => generateProgram(policyIr({ input: 'tcp', insns: [{ op: 'return', verdict: 'pass' }] }), { target: 'xdp-drv' }), 'CODEGEN_UNSUPPORTED_INPUT');
    expectCodegenError(() => generateProgram(policyIr({ input: 'packet', insns: [{ op: 'return', verdict: 'pass' }] }), { target: 'socket-select' }), 'CODEGEN_UNSUPPORTED_INPUT');
    expectCodegenError(() => generateProgram(policyIr({ input: 'thread', insns: [{ op: 'return', verdict: 'pass' }] }), { target: 'cpu-redirect' }), 'CODEGEN_UNSUPPORTED_INPUT');
  });

  it('refuses options that do not apply', () => {
    expectCodegenError(() => generateProgram(sitaIr(), { target: 'socket-select', port: 9000 }), 'CODEGEN_INVALID_OPTION');
    expectCodegenError(() => generateProgram(sitaIr(), { target: 'xdp-skb', port: 70000 }), 'CODEGEN_INVALID_OPTION');
    expectCodegenError(() => generateProgram(sitaIr(), { target: 'thread' as never }), 'CODEGEN_INVALID_OPTION');
  });

  it.each<[string, readonly IrInsn[]]>([
    ['a jump to an undefined label', [{ op: 'jump', target: 'nowhere' }]],
    ['a register beyond the count', [{ op: 'return', verdict: 'executor', value: 5 }]],
    ['a fall-through off the end', [{ op: 'const', dst: 0, value: 1n }]],
    ['an undeclared map', [{ op: 'map-get', dst: 0, map: 'nope', key: 0n }, { op: 'return', verdict: 'pass' }]],
    ['a field of another input', [{ op: 'input', dst: 0, field: 'length' }, { op: 'return', verdict: 'pass' }]],
    ['a load from the frame of a udp input', [{ op: 'load', dst: 0, region: 'data', offset: 0n, size: 1, byteOrder: 'be' }, { op: 'return', verdict: 'pass' }]],
  ])('refuses IR with %s', (_what, insns) => {
    const ir: PolicyIr = { ...policyIr({ input: 'udp', insns }), registerCount: 1 };
    expectCodegenError(() => generateProgram(ir, { target: 'xdp-drv' }), 'CODEGEN_INVALID_IR');
  });

  it('refuses malformed IR in the words of core\'s verifier, at the offending instruction\'s position', () => {
    const insns: IrInsn[] = [{ op: 'jump', target: 'nowhere', pos: { line: 3, column: 5 } }];
    const ir: PolicyIr = { ...policyIr({ input: 'udp', insns }), registerCount: 1 };
    const error = (() => {
      try {
        generateProgram(ir, { target: 'xdp-drv' });
      } catch (caught) {
        return caught as CodegenError;
      }
      return expect.fail('expected a CodegenError');
    })();
    expect(error).toMatchObject({
      code: 'CODEGEN_INVALID_IR',
      message: `${ir.fileName}:3:5: instruction 0 (jump): label "nowhere" is not defined.`,
      location: { file: ir.fileName, line: 3, column: 5 },
    });
    expect(error.cause).toMatchObject({ code: 'POLICY_IR_INVALID', index: 0 });
  });

  it('says so when a jump would have to reach further than 32767 instructions', () => {
    const insns: IrInsn[] = [{ op: 'input', dst: 0, field: 'srcPort' }, { op: 'jump-if', kind: 'eq', a: 0, b: 1n, target: 'end' }];
    for (let i = 0; i < 4000; i++) insns.push({ op: 'map-set', map: 'm', key: 0n, value: 0 });
    insns.push({ op: 'label', label: 'end' }, { op: 'return', verdict: 'pass' });
    expectCodegenError(() => generateProgram(policyIr({ input: 'udp', maps: { m: hash(1) }, insns }), { target: 'xdp-drv' }), 'CODEGEN_PROGRAM_TOO_LARGE');
  });

  it('says so when the values alive at once do not fit the 512-byte stack', () => {
    const count = 70;
    const insns: IrInsn[] = [];
    for (let v = 0; v < count; v++) insns.push({ op: 'input', dst: v, field: 'srcPort' });
    insns.push({ op: 'helper', dst: count, helper: 'cpu' });
    for (let v = 0; v < count; v++) insns.push({ op: 'binary', kind: 'add', dst: count, a: count, b: v });
    insns.push({ op: 'return', verdict: 'executor', value: count });
    expectCodegenError(() => generateProgram(policyIr({ input: 'udp', insns }), { target: 'xdp-drv' }), 'CODEGEN_STACK_OVERFLOW');
  });
});
