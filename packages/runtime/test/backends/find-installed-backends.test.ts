import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findInstalledBackends } from '../../src/backends/find-installed-backends.js';
import { writePackage } from '@syrup/test-support/backend-packages';

const temporary: string[] = [];
afterEach(() => {
  for (const dir of temporary.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('findInstalledBackends', () => {
  it('lists backend packages by the naming convention, from the working directory and the installation up', () => {
    const root = mkdtempSync(join(tmpdir(), 'syrup-installed-'));
    temporary.push(root);
    const work = join(root, 'work', 'app');
    const install = join(root, 'opt', 'syrup');
    mkdirSync(work, { recursive: true });
    mkdirSync(install, { recursive: true });
    writePackage(join(root, 'work', 'node_modules', '@acme', 'backend-queue'), { name: '@acme/backend-queue' }, {});
    writePackage(join(root, 'work', 'node_modules', '@acme', 'policies'), { name: '@acme/policies' }, {});
    writePackage(join(install, 'node_modules', 'syrup-backend-tc'), { name: 'syrup-backend-tc' }, {});
    writePackage(join(install, 'node_modules', 'left-pad'), { name: 'left-pad' }, {});
    writePackage(join(install, 'node_modules', '@syrup', 'backend-nfp'), { name: '@syrup/backend-nfp' }, {});
    expect(findInstalledBackends({ cwd: work, installDir: install })).toEqual(['@acme/backend-queue', '@syrup/backend-nfp', 'syrup-backend-tc']);
  });
});
