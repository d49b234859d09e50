import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/compiler/compile-policy.js';
import { PolicyCompileError } from '../../src/compiler/policy-compile-error.js';
import { POLICY_LIMITS } from '../../src/compiler/policy-limits.js';
import { deepestNode, whereParserOverflows } from '../../src/compiler/stack-overflow.js';
import { udpPolicy } from '../support/compile.js';

/** The refusal of a policy, which must be a PolicyCompileError. */
function refusal(text: string): PolicyCompileError {
  try {
    compilePolicy({ fileName: 'deep.ts', text });
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyCompileError);
    return error as PolicyCompileError;
  }
  return expect.fail('the policy compiled');
}

const chain = (operator: string, terms: number): string => Array.from({ length: terms }, () => 'a').join(operator);
const LIMIT = POLICY_LIMITS.maxNestingDepth;
const TOO_DEEP_CODE = `code is nested more than ${LIMIT} levels deep (statements, expressions and inlined calls)`;

/**
 * Issue #15's smaller points: policies nested deeper than the front end goes are refused with
 * one sentence at their own line, code POLICY_TOO_DEEP, never `Maximum call stack size exceeded`
 * or a position of 1:1. (A stack overflow anywhere would surface as a RangeError: refusal() fails on it.)
 */
describe('policies nested too deeply', () => {
  it('refuses a 9,000-term || chain at the chain, naming the limit', () => {
    const error = refusal(udpPolicy(`    const a = pkt.len;\n    if (${chain(' || ', 9000)}) return 1;\n    return 0;`));
    expect(error).toMatchObject({ code: 'POLICY_TOO_DEEP', line: 11, message: `deep.ts:11:9: ${TOO_DEEP_CODE}` });
  });

  it('refuses a long chain in an inlined function at the function\'s line (its assignment scan used to recurse per term)', () => {
    const top = `function f(a: number): number {\n  let b = a;\n  b = ${chain('|', 30_000)};\n  return b;\n}`;
    const error = refusal(udpPolicy('    return f(pkt.len);', { top }));
    expect(error.code).toBe('POLICY_TOO_DEEP');
    expect(error.message).toMatch(new RegExp(`^deep\\.ts:5:\\d+: ${TOO_DEEP_CODE.replace(/[()]/g, '\\$&')}$`));
  });

  it('refuses nested parentheses and braced ifs past the bracket limit at the bracket that crosses it', () => {
    const parens = refusal(udpPolicy(`    return ${'('.repeat(LIMIT + 50)}pkt.len${')'.repeat(LIMIT + 50)};`));
    expect(parens).toMatchObject({ code: 'POLICY_TOO_DEEP', line: 10, reason: `brackets are nested more than ${LIMIT} levels deep` });
    const ifs = refusal(udpPolicy(`${'    if (pkt.len > 1) {\n'.repeat(LIMIT + 5)}      return 1;\n${'    }\n'.repeat(LIMIT + 5)}    return 0;`));
    // definePolicy(, its object and schedule's braces are 3 levels: the condition's parenthesis of if number LIMIT - 2 crosses it.
    expect(ifs).toMatchObject({ code: 'POLICY_TOO_DEEP', line: 9 + LIMIT - 2, column: 8, reason: `brackets are nested more than ${LIMIT} levels deep` });
  });

  it('places what the parser cannot nest (no brackets to count) inside the construct, not at 1:1', () => {
    const cases = [
      { text: `x = 1; ${'if (x) '.repeat(9000)}x;`, line: 1, from: 8 },
      { text: udpPolicy(`    return ${'!'.repeat(30_000)}pkt.len;`), line: 10, from: 12 },
      { text: udpPolicy(`    let a = pkt.len;\n    a = ${Array.from({ length: 15_000 }, () => 'a =').join(' ')} 1;\n    return a;`), line: 11, from: 5 },
    ];
    for (const { text, line, from } of cases) {
      const error = refusal(text);
      expect(error.code).toBe('POLICY_TOO_DEEP');
      expect(error.line).toBe(line);
      expect(error.column).toBeGreaterThan(from);
      expect(error.reason === 'the policy is nested too deeply to parse' || error.reason === TOO_DEEP_CODE).toBe(true);
    }
  });

  it('finds the prefix where a parser overflows by bisection, and gives up refining after its budget', () => {
    const parses: number[] = [];
    const overflowPast = (limit: number) => (_: string, text: string) => {
      parses.push(text.length);
      if (text.length > limit) throw new RangeError('Maximum call stack size exceeded');
    };
    expect(whereParserOverflows('p.ts', 'x'.repeat(10_000), overflowPast(1234))).toBe(1234);
    expect(parses.length).toBeLessThanOrEqual(15);
    // Other errors are not an overflow: they propagate.
    expect(() => whereParserOverflows('p.ts', 'x'.repeat(100), () => { throw new TypeError('no'); })).toThrow(TypeError);
    // With no budget left, the answer is the whole text's end: still a prefix known to overflow.
    expect(whereParserOverflows('p.ts', 'x'.repeat(100), overflowPast(10), 0)).toBe(99);
  });

  it('finds the deepest node of a tree thousands of levels deep without recursing', () => {
    const source = ts.createSourceFile('d.ts', `const q = 1;\nx = ${chain('+', 20_000)};`, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
    const deepest = deepestNode(source);
    // a+a+...+a is left-leaning: the deepest node is the first `a` of the chain.
    expect(ts.isIdentifier(deepest) && deepest.getStart(source)).toBe(source.text.indexOf('x = ') + 4);
  });
});
