import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/compiler/compile-policy.js';
import { PolicyCompileError } from '../../src/compiler/policy-compile-error.js';

const dir = new URL('./corpus/invalid/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected-messages.json', dir), 'utf8')) as Record<string, string>;
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts'))
  .sort();

describe('invalid policy corpus', () => {
  it('has an expected message for every file and a file for every message', () => {
    expect(files.length).toBeGreaterThanOrEqual(30);
    expect(Object.keys(expected).sort()).toEqual(files);
  });

  it.each(files)('%s is refused with its exact message', (file) => {
    const text = readFileSync(new URL(file, dir), 'utf8');
    let error: unknown;
    try {
      compilePolicy({ fileName: file, text });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PolicyCompileError);
    const e = error as PolicyCompileError;
    expect(e.message).toBe(expected[file]);
    // Nesting past the front end's depth has a code of its own; every other refusal is POLICY_COMPILE.
    expect(e.code).toBe(file === 'nesting-too-deep.ts' ? 'POLICY_TOO_DEEP' : 'POLICY_COMPILE');
    expect(e.message).toBe(`${e.fileName}:${e.line}:${e.column}: ${e.reason}`);
    expect(e.message).not.toContain('\n');
  });
});
