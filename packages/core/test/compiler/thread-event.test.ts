import { describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../../src/evaluator/policy-evaluator.js';
import { ThreadEvent } from '../../src/policy/inputs.js';
import { compileError, compileText } from '../support/compile.js';
import { show } from '../support/evaluate.js';

/** A thread policy module with `body` as the schedule body and `imports` from core. */
function threadPolicy(body: string, imports = `import { definePolicy, PASS, DROP, ThreadEvent } from '@syrup/core';`, top = ''): string {
  return [
    imports,
    top,
    `export default definePolicy({`,
    `  name: 'thread-test',`,
    `  input: 'thread',`,
    `  maps: {},`,
    `  params: {},`,
    `  schedule(t) {`,
    body,
    `  },`,
    `});`,
  ].join('\n');
}

describe('ThreadEvent in policy code', () => {
  it('folds every member to its integer, through a named import and a namespace', () => {
    for (const [name, code] of Object.entries(ThreadEvent)) {
      const named = compileText(threadPolicy(`    return ThreadEvent.${name};`));
      expect(named.insns).toEqual([expect.objectContaining({ op: 'return', verdict: 'executor', value: BigInt(code) })]);
      const spaced = compileText(threadPolicy(`    return syrup.ThreadEvent.${name};`, `import * as syrup from '@syrup/core';`).replace('export default definePolicy', 'export default syrup.definePolicy'));
      expect(evaluatePolicy(spaced, {})).toEqual({ kind: 'executor', key: BigInt(code) });
    }
  });

  it('works in module constants, switch cases and comparisons with the input event', () => {
    const ir = compileText(
      threadPolicy(
        [
          `    switch (t.event) {`,
          `      case ThreadEvent.WAKEUP: return FIRST;`,
          `      case ThreadEvent.BLOCKED: return DROP;`,
          `      default: return t.event === ThreadEvent.NEW ? 1 : PASS;`,
          `    }`,
        ].join('\n'),
        undefined,
        'const FIRST = ThreadEvent.WAKEUP - ThreadEvent.WAKEUP;',
      ),
    );
    expect(show(evaluatePolicy(ir, { event: ThreadEvent.WAKEUP }))).toBe('0');
    expect(show(evaluatePolicy(ir, { event: ThreadEvent.BLOCKED }))).toBe('DROP');
    expect(show(evaluatePolicy(ir, { event: ThreadEvent.NEW }))).toBe('1');
    expect(show(evaluatePolicy(ir, { event: ThreadEvent.PREEMPTED }))).toBe('PASS');
  });

  it('reads every field of the thread input', () => {
    const ir = compileText(threadPolicy(`    return t.tid * 10000 + t.pid * 1000 + t.event * 100 + t.lastCpu * 10 + t.runtimeNs;`));
    expect(show(evaluatePolicy(ir, { tid: 1, pid: 2, event: 3, lastCpu: 4, runtimeNs: 5 }))).toBe('12345');
  });

  it('refuses an unknown member and ThreadEvent used as a value, in one sentence', () => {
    expect(compileError(threadPolicy(`    return ThreadEvent.WOKEN;`))).toBe(
      "test.ts:9:24: ThreadEvent has no member 'WOKEN'; it has NEW, WAKEUP, PREEMPTED, YIELD, BLOCKED",
    );
    expect(compileError(threadPolicy(`    return ThreadEvent;`))).toBe('test.ts:9:12: ThreadEvent is a set of constants; use its members, such as ThreadEvent.WAKEUP');
  });
});
