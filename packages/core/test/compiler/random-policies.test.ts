import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/compiler/compile-policy.js';
import { PolicyCompileError } from '../../src/compiler/policy-compile-error.js';
import { verifyPolicyIr } from '../../src/ir/verify-policy-ir.js';
import { generateRandomPolicy, SeededRandom } from '../../src/testing/index.js';

const FRAGMENTS = [
  '(', ')', '{', '}', ';', ',', '=', '++', '**', '?.', '...', '!', '&&', '?', ':',
  'return ', 'return;', 'PASS', 'DROP', 'x', 'pkt', 'i', '1.5', '1e3', "'s'", '`t`', 'this', 'new Date()', 'null', 'undefined',
  'while (1) {}', 'for (;;) {}', 'for (let q = 0; q < 5000; q++) {}', 'pkt.len = 1;', 'function f() {}', '() => 1', 'class C {}',
  '0x', '1n', '0777', '99999999999999999999999', 'm0.delete(1);', 'm0.get()', 'random(1)', 'Math.max(1, 2)', 'await 1',
  'typeof x', 'delete x', 'x in y', 'var v = 1;', 'let v = 1;', 'const v = 2;', 'label: ', 'break;', 'continue;', 'switch (1) {}',
  'params.constructor', 'maps.__proto__', 'pkt.toString', '.constructor', 'hasOwnProperty', '__proto__: 1,', 'constructor: 1,',
  'schedule', 'definePolicy', 'export default 1;', 'import x from "y";', '[1, 2]', '{ a: 1 }', 'try {} catch {}', 'throw 1;',
];

/** A random edit of a policy's text: most results are invalid, some stay valid. */
function mutate(text: string, rng: SeededRandom): string {
  const at = rng.int(text.length + 1);
  switch (rng.int(5)) {
    case 0:
      return text.slice(0, at) + text.slice(at + rng.range(1, 12));
    case 1: {
      const from = rng.int(text.length);
      return text.slice(0, at) + text.slice(from, from + rng.range(1, 40)) + text.slice(at);
    }
    case 2: {
      const lines = text.split('\n');
      const a = rng.int(lines.length);
      const b = rng.int(lines.length);
      [lines[a], lines[b]] = [lines[b] as string, lines[a] as string];
      return lines.join('\n');
    }
    default:
      return `${text.slice(0, at)} ${rng.pick(FRAGMENTS)} ${text.slice(at)}`;
  }
}

describe('random valid policies', () => {
  it('are the same text for the same seed', () => {
    expect(generateRandomPolicy(42).text).toBe(generateRandomPolicy({ seed: 42 }).text);
    expect(generateRandomPolicy(42).text).not.toBe(generateRandomPolicy(43).text);
    expect(generateRandomPolicy({ seed: 7, input: 'thread' }).input).toBe('thread');
  });

  it('leave out the map kinds and helpers a caller cannot compare', () => {
    const texts = Array.from({ length: 200 }, (_, seed) => generateRandomPolicy({ seed, mapKinds: ['array', 'hash'], helpers: ['cpu'] }).text).join('\n');
    expect(texts).not.toContain("'lru-hash'");
    expect(texts).not.toContain("'percpu-array'");
    expect(texts).not.toMatch(/random\(\)|now\(\)/);
    expect(texts).toContain('cpu()');
  });

  it('use the whole language across seeds', () => {
    const all = Array.from({ length: 300 }, (_, seed) => generateRandomPolicy(seed).text).join('\n');
    for (const needle of [
      ' / ', ' % ', ' << ', ' >>> ', ' ? ', ' && ', ' || ', 'switch (', 'default:', 'for (let ', 'break;', 'continue;', '.u32(', '.u64le(',
      '.get(', '.set(', '.fetchAdd(', '.compareExchange(', '.delete(', 'random()', 'now()', 'cpu()', "'hash'", "'lru-hash'",
      "'percpu-array'", "'array'", 'return PASS', 'return DROP', '0xFFFF_FFFF_FFFF_FFFF', 'function ', '=> ', 'import * as syrup',
      ' as definePolicy_', '&&=', '>>>=', "input: 'packet'", "input: 'thread'", "input: 'tcp'",
    ]) {
      expect(all, needle).toContain(needle);
    }
  });

  it('all compile to IR that keeps the contract', () => {
    for (let seed = 0; seed < 1500; seed++) {
      const policy = generateRandomPolicy(seed);
      let ir;
      try {
        ir = compilePolicy(policy).ir;
      } catch (error) {
        throw new Error(`seed ${seed} did not compile: ${(error as Error).message}\n${policy.text}`);
      }
      verifyPolicyIr(ir);
    }
  });
});

describe('the front end under mutated sources', () => {
  it('answers valid IR or a PolicyCompileError, and nothing else', () => {
    const rng = new SeededRandom(2024);
    let compiled = 0;
    let refused = 0;
    for (let i = 0; i < 2500; i++) {
      const seed = rng.int(10_000);
      let text = generateRandomPolicy(seed).text;
      const edits = rng.range(1, 3);
      for (let k = 0; k < edits; k++) text = mutate(text, rng);
      try {
        const { ir } = compilePolicy({ fileName: 'mutant.ts', text });
        verifyPolicyIr(ir);
        compiled++;
      } catch (error) {
        if (!(error instanceof PolicyCompileError)) {
          throw new Error(`mutant ${i} of seed ${seed} threw ${String(error)}\n${text}`);
        }
        expect(error.message).toMatch(/^mutant\.ts:\d+:\d+: \S/);
        expect(error.message).not.toContain('\n');
        refused++;
      }
    }
    expect(compiled).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(1000);
  });
});
