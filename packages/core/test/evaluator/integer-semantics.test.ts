import { describe, expect, it } from 'vitest';
import { PolicyEvaluator } from '../../src/evaluator/policy-evaluator.js';
import { evalBinary, evalCompare, evalUnary } from '../../src/ir/ir-semantics.js';
import { compileText } from '../support/compile.js';
import { show } from '../support/evaluate.js';

const MAX = (1n << 64n) - 1n;
const TOP = 1n << 63n;

const policy = (operands: string, expression: string): string => `import { definePolicy } from '@syrup/core';
export default definePolicy({
  name: 'semantics',
  input: 'udp',
  schedule(pkt) {
${operands}
    return ${expression};
  },
});
`;

/** The expression's result three ways: operands read at run time (both engines) and folded at compile time. */
function results(expression: string, a: bigint, b: bigint): string[] {
  const payload = new Uint8Array(16);
  const view = new DataView(payload.buffer);
  view.setBigUint64(0, a);
  view.setBigUint64(8, b);
  const runtime = compileText(policy('    const a = pkt.payload.u64(0);\n    const b = pkt.payload.u64(8);', expression));
  const folded = compileText(policy(`    const a = ${a};\n    const b = ${b};`, expression));
  expect(folded.insns.length).toBe(1);
  return [
    show(new PolicyEvaluator(runtime).evaluate({ payload })),
    show(new PolicyEvaluator(runtime, { engine: 'reference' }).evaluate({ payload })),
    show(new PolicyEvaluator(folded).evaluate({})),
  ];
}

describe('integer semantics (u64 everywhere, as in eBPF)', () => {
  it.each<[string, bigint, bigint, bigint]>([
    ['a / b', 7n, 2n, 3n],
    ['a / b', 7n, 0n, 0n],
    ['a / b', MAX, 2n, TOP - 1n],
    ['a % b', 7n, 3n, 1n],
    ['a % b', 7n, 0n, 7n],
    ['a % b', MAX, 10n, 5n],
    ['a + b', MAX, 2n, 1n],
    ['a - b', 0n, 1n, MAX],
    ['a * b', 1n << 32n, 1n << 32n, 0n],
    ['a * b', TOP + 1n, 3n, TOP + 3n],
    ['-a + b', 1n, 0n, MAX],
    ['-a + b', 0n, 0n, 0n],
    ['~a + b', 0n, 0n, MAX],
    ['a << b', 1n, 64n, 1n],
    ['a << b', 1n, 65n, 2n],
    ['a << b', 3n, 63n, TOP],
    ['a >> b', TOP, 63n, 1n],
    ['a >> b', MAX, 64n, MAX],
    ['a >>> b', MAX, 60n, 15n],
    ['a & b', 0b1100n, 0b1010n, 0b1000n],
    ['a | b', 0b1100n, 0b1010n, 0b1110n],
    ['a ^ b', 0b1100n, 0b1010n, 0b0110n],
    ['a < b ? 1 : 2', MAX, 1n, 2n],
    ['a > b ? 1 : 2', MAX, 1n, 1n],
    ['a >= b ? 1 : 2', 5n, 5n, 1n],
    ['a <= b ? 1 : 2', 6n, 5n, 2n],
    ['a === b ? 1 : 2', MAX, MAX, 1n],
    ['a !== b ? 1 : 2', MAX, MAX, 2n],
    ['(a < b) + (a == b) * 2', 3n, 3n, 2n],
    ['!a + !b', 0n, 9n, 1n],
    ['a && b', 0n, 9n, 0n],
    ['a && b', 4n, 9n, 9n],
    ['a || b', 0n, 9n, 9n],
    ['a || b', 4n, 9n, 4n],
    ['a + 9007199254740993', 0n, 0n, 9007199254740993n],
    ['a + 0xffff_ffff_ffff_ffff', 1n, 0n, 0n],
    ['(a - b) / 2', 0n, 2n, TOP - 1n],
  ])('%s with a = %s, b = %s is %s', (expression, a, b, expected) => {
    expect(results(expression, a, b)).toEqual([String(expected), String(expected), String(expected)]);
  });

  it('defines the IR operations once, for folding and for interpreting', () => {
    expect(evalBinary('div', 5n, 0n)).toBe(0n);
    expect(evalBinary('mod', 5n, 0n)).toBe(5n);
    expect(evalBinary('shl', 1n, 127n)).toBe(TOP);
    expect(evalBinary('shr', TOP, 127n)).toBe(1n);
    expect(evalBinary('sub', 0n, 1n)).toBe(MAX);
    expect(evalUnary('neg', 1n)).toBe(MAX);
    expect(evalUnary('not', MAX)).toBe(0n);
    expect(evalCompare('lt', 1n, MAX)).toBe(true);
  });
});
