import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs file of the bin, without type declarations.
import { olderThan } from '../bin/check-node.mjs';

const bins = { syrup: fileURLToPath(new URL('../bin/syrup.mjs', import.meta.url)), syrupd: fileURLToPath(new URL('../../syrupd/bin/syrupd.mjs', import.meta.url)) };
/** An older Node on this machine, if there is one: the distribution's (the project brings its own 24). */
const SYSTEM_NODE = '/usr/bin/node';
const systemVersion = existsSync(SYSTEM_NODE) ? spawnSync(SYSTEM_NODE, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim() : '';
const older = systemVersion !== '' && (olderThan as (v: string, n: number[]) => boolean)(systemVersion, [24, 15, 0]);

describe('the bins refuse a Node older than engines.node', () => {
  it('compares versions numerically', () => {
    const check = olderThan as (v: string, n: number[]) => boolean;
    expect(check('20.20.2', [24, 15, 0])).toBe(true);
    expect(check('24.9.0', [24, 15, 0])).toBe(true);
    expect(check('24.15.0', [24, 15, 0])).toBe(false);
    expect(check('24.100.0', [24, 15, 0])).toBe(false);
    expect(check('25.0.0', [24, 15, 0])).toBe(false);
  });

  it.skipIf(!older)(`syrup and syrupd started by ${SYSTEM_NODE} (${systemVersion || 'absent'}) exit 2 with one sentence`, () => {
    for (const [name, bin] of Object.entries(bins)) {
      const run = spawnSync(SYSTEM_NODE, [bin, 'status'], { encoding: 'utf8', timeout: 30_000 });
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toBe(
        `${name}: needs Node.js 24.15.0 or newer, but was started by Node.js ${systemVersion} (${SYSTEM_NODE}); run it with a newer node, e.g. the one \`npm install\` brings (node_modules/.bin/node).\n`,
      );
    }
  });
});
