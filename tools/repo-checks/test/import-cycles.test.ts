import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { importCycles } from '../src/import-cycles.js';

const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));
let scratch: string | undefined;

afterEach(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

function write(root: string, path: string, text: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

describe('no import cycles among the source files under src/', () => {
  it('holds for this repository, but for the lowerer\'s recursion', () => {
    expect(importCycles(repositoryRoot)).toEqual([]);
    // The exception is real and no wider than the recursion: without it, exactly that cycle shows.
    expect(importCycles(repositoryRoot, [])).toEqual([expect.stringMatching(/^import cycle: packages\/core\/src\/compiler\/(constant-folder|lower-\w+)\.ts -> /)]);
  });

  it('accepts a cycle only when all of its files are in one recursive group', () => {
    scratch = mkdtempSync(join(tmpdir(), 'syrup-import-cycles-'));
    write(scratch, 'packages/a/src/expr.ts', "import { stmt } from './stmt.js';\nexport const expr = () => stmt;\n");
    write(scratch, 'packages/a/src/stmt.ts', "import { expr } from './expr.js';\nimport { types } from './types.js';\nexport const stmt = () => expr;\n");
    write(scratch, 'packages/a/src/types.ts', "import { expr } from './expr.js';\nexport const types = expr;\n");
    expect(importCycles(scratch, [['packages/a/src/expr.ts', 'packages/a/src/stmt.ts']])).toEqual([
      'import cycle: packages/a/src/expr.ts -> packages/a/src/stmt.ts -> packages/a/src/expr.ts.',
    ]);
    expect(importCycles(scratch, [['packages/a/src/expr.ts', 'packages/a/src/stmt.ts', 'packages/a/src/types.ts']])).toEqual([]);
  });

  it('names each cycle once, type-only imports and re-exports included, and ignores dynamic imports and files outside src/', () => {
    scratch = mkdtempSync(join(tmpdir(), 'syrup-import-cycles-'));
    write(scratch, 'packages/a/src/program.ts', "import { TestRunner } from './test-runner.js';\nexport class Program {}\n");
    write(scratch, 'packages/a/src/test-runner.ts', "import type { Program } from './program.js';\nexport class TestRunner {}\n");
    write(scratch, 'packages/b/src/x.ts', "export { y } from './deep/y.js';\n");
    write(scratch, 'packages/b/src/deep/y.ts', "import { z } from '../z.js';\nexport const y = z;\n");
    write(scratch, 'packages/b/src/z.ts', "import '../src/x.js';\nexport const z = 1;\n");
    write(scratch, 'packages/c/src/lazy.ts', "export const load = () => import('./loader.js');\n");
    write(scratch, 'packages/c/src/loader.ts', "import { load } from './lazy.js';\nexport const again = load;\n");
    write(scratch, 'packages/c/test/t.ts', "import './t2.js';\n");
    write(scratch, 'packages/c/test/t2.ts', "import './t.js';\n");
    expect(importCycles(scratch)).toEqual([
      'import cycle: packages/a/src/program.ts -> packages/a/src/test-runner.ts -> packages/a/src/program.ts.',
      'import cycle: packages/b/src/deep/y.ts -> packages/b/src/z.ts -> packages/b/src/x.ts -> packages/b/src/deep/y.ts.',
    ]);
  });
});
