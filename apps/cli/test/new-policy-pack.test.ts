import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../src/index.js';

let dir: string | undefined;
afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) } };
}

describe('syrup new policy-pack', () => {
  it('writes a pack whose exports name the policy source, with @syrup/core as a peer and tests of both kinds', async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-new-pack-'));
    const { out, err, io } = capture();
    expect(await runCli(['new', 'policy-pack', join(dir, 'spread'), '--name', '@acme/spread', '--policy', 'spread'], io)).toBe(0);
    expect(err).toEqual([]);
    expect(out.join('')).toContain('next: cd ');
    const manifest = JSON.parse(readFileSync(join(dir, 'spread', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: '@acme/spread', exports: { './spread': './src/spread.ts' }, peerDependencies: { '@syrup/core': '^0.1.0' }, scripts: { test: 'vitest run' } });
    expect(readFileSync(join(dir, 'spread', 'src', 'spread.ts'), 'utf8')).toContain("name: 'spread'");
    expect(readFileSync(join(dir, 'spread', 'test', 'spread.test.ts'), 'utf8')).toContain("from '@syrup/core/testing'");
    expect(readFileSync(join(dir, 'spread', 'test', 'spread.kernel.test.ts'), 'utf8')).toContain("hook: 'socket-select'");
  });

  it('refuses a directory that holds files, and a name npm cannot take, writing nothing', async () => {
    dir = mkdtempSync(join(tmpdir(), 'syrup-new-pack-'));
    writeFileSync(join(dir, 'keep.txt'), 'mine');
    const first = capture();
    expect(await runCli(['new', 'policy-pack', dir], first.io)).toBe(2);
    expect(first.err).toEqual([`syrup: ${dir} is not empty; a new policy pack needs an empty or new directory.`]);
    const second = capture();
    expect(await runCli(['new', 'policy-pack', join(dir, 'x'), '--name', 'Bad Name'], second.io)).toBe(2);
    expect(second.err).toEqual(["syrup: 'Bad Name' is not a valid npm package name (lower case, optionally @scope/name); pass one with --name."]);
  });
});
