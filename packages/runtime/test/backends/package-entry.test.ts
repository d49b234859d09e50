import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { activeConditions, packageEntry } from '../../src/backends/package-entry.js';
import { writePackage } from '@syrup/test-support/backend-packages';

describe('packageEntry', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'syrupd-entry-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const plain = new Set(['node', 'import']);
  const source = new Set(['node', 'import', 'source']);

  it("picks the root export under the first matching condition in the package's order, as Node does", () => {
    // The workspace packages' shape: TypeScript sources under `source` (the clone), dist/ otherwise.
    const exports = { '.': { source: './src/index.ts', types: './dist/index.d.ts', import: './dist/index.js' }, './testing': { import: './dist/testing.js' } };
    expect(packageEntry(dir, { exports }, source)).toBe(join(dir, 'src/index.ts'));
    expect(packageEntry(dir, { exports }, plain)).toBe(join(dir, 'dist/index.js'));
    expect(packageEntry(dir, { exports: { require: './x.cjs', default: './y.js' } }, plain)).toBe(join(dir, 'y.js'));
    expect(packageEntry(dir, { exports: './only.js' }, plain)).toBe(join(dir, 'only.js'));
    expect(packageEntry(dir, { exports: [{ worker: './w.js' }, './fallback.js'] }, plain)).toBe(join(dir, 'fallback.js'));
    expect(packageEntry(dir, { exports: { require: './x.cjs' } }, plain)).toBeUndefined();
    expect(packageEntry(dir, { exports: { '.': '../escape.js' } }, plain)).toBeUndefined();
  });

  it('falls back to an existing main (also with .js or /index.js), then index.js, and to nothing', () => {
    writePackage(dir, {}, { 'lib/main.js': '', 'index.js': '' });
    expect(packageEntry(dir, { main: 'lib/main.js' }, plain)).toBe(join(dir, 'lib/main.js'));
    expect(packageEntry(dir, { main: 'lib/main' }, plain)).toBe(join(dir, 'lib/main.js'));
    expect(packageEntry(dir, { main: 'missing.js' }, plain)).toBe(join(dir, 'index.js'));
    expect(packageEntry(dir, {}, plain)).toBe(join(dir, 'index.js'));
    rmSync(join(dir, 'index.js'));
    expect(packageEntry(dir, {}, plain)).toBeUndefined();
  });
});

describe('activeConditions', () => {
  it('adds --conditions and -C from the flags and NODE_OPTIONS to node and import', () => {
    expect([...activeConditions([], '')]).toEqual(['node', 'import']);
    expect([...activeConditions(['--conditions=source', '--import', 'tsx'], '')]).toEqual(['node', 'import', 'source']);
    expect([...activeConditions(['-C', 'dev'], '--conditions custom  -C=other')]).toEqual(['node', 'import', 'dev', 'custom', 'other']);
  });
});
