import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { publishableViolations } from '../src/publishable-packages.js';

const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));
let scratch: string | undefined;

afterEach(() => {
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
});

describe('publishable packages', () => {
  it('every non-private package of this repository builds on prepack, ships LICENSE and README, names its repository and its Node', () => {
    expect(publishableViolations(repositoryRoot)).toEqual([]);
  });

  it('catches a package that became publishable without them (as a merged package would)', () => {
    scratch = mkdtempSync(join(tmpdir(), 'syrup-publishable-'));
    for (const file of ['LICENSE', 'package.json', 'lerna.json']) cpSync(join(repositoryRoot, file), join(scratch, file));
    cpSync(join(repositoryRoot, 'packages/maps/package.json'), join(scratch, 'packages/maps/package.json'));
    writeFileSync(join(scratch, 'packages/maps/README.md'), '# maps\n');
    writeFileSync(join(scratch, 'packages/maps/LICENSE'), readFileSync(join(repositoryRoot, 'LICENSE'), 'utf8'));
    mkdirSync(join(scratch, 'tools/new-thing'), { recursive: true });
    writeFileSync(join(scratch, 'tools/new-thing/package.json'), JSON.stringify({ name: '@syrup/new-thing', version: '0.1.0', engines: { node: '^24' } }));
    expect(publishableViolations(scratch)).toEqual([
      "tools/new-thing/package.json: '@syrup/new-thing' has no prepack script, so a packed tarball has no dist/.",
      "tools/new-thing/package.json: '@syrup/new-thing' does not list LICENSE in files.",
      "tools/new-thing: '@syrup/new-thing' has no LICENSE.",
      "tools/new-thing/package.json: '@syrup/new-thing' does not list README.md in files.",
      "tools/new-thing: '@syrup/new-thing' has no README.md.",
      "tools/new-thing/package.json: '@syrup/new-thing' needs repository { url: the root package.json's, directory: 'tools/new-thing' }.",
      "tools/new-thing/package.json: '@syrup/new-thing' needs engines.node as '>=X.Y.Z'.",
      "tools/new-thing/package.json: '@syrup/new-thing' needs publishConfig.access 'public' (a scoped package is private on npm otherwise).",
      "tools/new-thing/package.json: '@syrup/new-thing' is not covered by lerna.json's packages, so releases skip it.",
    ]);
  });

  it('the bins check the Node version with the same file', () => {
    const cli = readFileSync(join(repositoryRoot, 'apps/cli/bin/check-node.mjs'), 'utf8');
    expect(readFileSync(join(repositoryRoot, 'apps/syrupd/bin/check-node.mjs'), 'utf8')).toBe(cli);
  });
});
