import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
/** What a clone or a published package does not have, spelled so that this file does not name it either. */
const FORBIDDEN = [['DESIGN', 'md'].join('.'), ['..', 'shared'].join('/')];
const SKIP = new Set(['node_modules', 'dist', '.git', '.nx', '.test-results', 'results']);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (SKIP.has(name)) return [];
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('the repository stands on its own', () => {
  it('names no team-only file: the architecture lives in docs/architecture.md', () => {
    const dirs = ['packages', 'apps', 'tools', 'docs', 'examples'].map((d) => join(ROOT, d)).filter((d) => existsSync(d));
    const files = [...dirs.flatMap((d) => filesUnder(d)), join(ROOT, 'README.md')];
    const offenders = files.filter((file) => FORBIDDEN.some((word) => readFileSync(file, 'latin1').includes(word))).map((file) => relative(ROOT, file));
    expect(files.length).toBeGreaterThan(100);
    expect(offenders).toEqual([]);
  });
});
