import { compilePolicy, type IrInsn } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { CodegenError } from '../../src/codegen/codegen-error.js';
import { generateProgram } from '../../src/codegen/generate-program.js';
import { policyIr } from './support.js';

const SENTENCE = 'the program needs more than the 512 bytes of eBPF stack (at spill); the policy keeps too many values alive at once.';

/** A policy whose schedule returns `next.get(0) + (next.get(1) + (... 1))`, `levels` deep: every left value stays alive. */
function nestedGets(levels: number): { text: string; termColumns: number[] } {
  const prefix = '    return ';
  const terms = Array.from({ length: levels }, (_, i) => `next.get(${i % 4}) + (`);
  const termColumns = terms.map((_, i) => prefix.length + 1 + terms.slice(0, i).join('').length);
  const text = [
    `import { definePolicy } from '@syrup/core';`,
    `export default definePolicy({`,
    `  name: 'nested-gets',`,
    `  input: 'udp',`,
    `  maps: { next: { kind: 'array', key: 'u32', value: 'u64', maxEntries: 4 } },`,
    `  schedule(pkt, { next }) {`,
    `${prefix}${terms.join('')}1${')'.repeat(levels)};`,
    `  },`,
    `});`,
  ].join('\n');
  return { text, termColumns };
}

function codegenError(run: () => unknown): CodegenError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CodegenError);
    return error as CodegenError;
  }
  return expect.fail('expected a CodegenError');
}

/** Issue #15: 60 to 98 nested levels used to be refused for their stack without saying where. */
describe('a policy that needs more than the eBPF stack', () => {
  it.each([80, 98])('is refused at the policy position of the value that needs a slot too many (%i levels)', (levels) => {
    const { text, termColumns } = nestedGets(levels);
    const { ir } = compilePolicy({ fileName: 'nested.ts', text });
    const error = codegenError(() => generateProgram(ir, { target: 'socket-select' }));
    expect(error.code).toBe('CODEGEN_STACK_OVERFLOW');
    expect(error.location).toMatchObject({ file: 'nested.ts', line: 7 });
    // The position is one of the nested terms, past the first few (which fit in registers and slots).
    const column = error.location?.column ?? 0;
    expect(termColumns.slice(8)).toContain(column);
    expect(error.message).toBe(`nested.ts:7:${column}: ${SENTENCE}`);
  });

  it('still generates 40 levels (the refusal above is about depth, not about the shape)', () => {
    const { ir } = compilePolicy({ fileName: 'nested.ts', text: nestedGets(40).text });
    expect(() => generateProgram(ir, { target: 'socket-select' })).not.toThrow();
  });

  it('keeps the sentence without a position for IR that carries none', () => {
    const count = 70;
    const insns: IrInsn[] = [];
    for (let v = 0; v < count; v++) insns.push({ op: 'input', dst: v, field: 'srcPort' });
    insns.push({ op: 'helper', dst: count, helper: 'cpu' });
    for (let v = 0; v < count; v++) insns.push({ op: 'binary', kind: 'add', dst: count, a: count, b: v });
    insns.push({ op: 'return', verdict: 'executor', value: count });
    const error = codegenError(() => generateProgram(policyIr({ input: 'udp', insns }), { target: 'xdp-drv' }));
    expect(error).toMatchObject({ code: 'CODEGEN_STACK_OVERFLOW', message: SENTENCE, location: undefined });
  });
});
