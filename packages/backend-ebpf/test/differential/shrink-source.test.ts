import { describe, expect, it } from 'vitest';
import { blockEnd, shrinkSource } from './support/shrink-source.js';

const source = [
  'function h(a: number): number {',
  '  const x = a + 1;',
  '  return x;',
  '}',
  'schedule() {',
  '  let v = 1;',
  '  if (v > 0) {',
  '    v = 2;',
  '  } else {',
  '    v = 3;',
  '  }',
  '  const KEEP = 7;',
  '  return KEEP;',
  '}',
].join('\n');

/** Braces balance, like a compiler that refuses broken syntax. */
function balanced(text: string): boolean {
  let depth = 0;
  for (const c of text) {
    depth += c === '{' ? 1 : c === '}' ? -1 : 0;
    if (depth < 0) return false;
  }
  return depth === 0;
}

describe('shrinkSource', () => {
  it('finds the line that closes a block, over else branches, and refuses continuation lines', () => {
    const lines = source.split('\n');
    expect(blockEnd(lines, 0)).toBe(3);
    expect(blockEnd(lines, 6)).toBe(10);
    expect(blockEnd(lines, 8)).toBeUndefined();
    expect(blockEnd(lines, 1)).toBeUndefined();
  });

  it('keeps only what the failure needs, never trying texts that do not fail', () => {
    const tried: string[] = [];
    const result = shrinkSource(source, (candidate) => {
      tried.push(candidate);
      return balanced(candidate) && candidate.includes('KEEP = 7') && candidate.includes('return KEEP');
    });
    expect(result.text).toBe(['schedule() {', '  const KEEP = 7;', '  return KEEP;', '}'].join('\n'));
    expect(result.attempts).toBe(tried.length);
  });

  it('stops after maxAttempts', () => {
    const result = shrinkSource(source, () => false, 5);
    expect(result.attempts).toBe(5);
    expect(result.text).toBe(source);
  });
});
