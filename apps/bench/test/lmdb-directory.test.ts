import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbDirectory, removeAbandoned } from '../src/server/lmdb-directory.js';

const parents: string[] = [];
afterEach(() => {
  for (const parent of parents.splice(0)) rmSync(parent, { recursive: true, force: true });
});

function parentDirectory(): string {
  const parent = mkdtempSync(join(tmpdir(), 'syrup-lmdb-test-'));
  parents.push(parent);
  return parent;
}

/** A pid that surely runs no process now: a child that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('LmdbDirectory', () => {
  it("removes the data directories of servers that no longer run, and keeps a running server's and anything else", () => {
    const parent = parentDirectory();
    const abandoned = join(parent, `syrup-kv-${deadPid()}-AbC123`);
    mkdirSync(join(abandoned, 'data.mdb'), { recursive: true });
    const running = join(parent, `syrup-kv-${process.pid}-xyz789`);
    mkdirSync(running);
    const unrelated = join(parent, 'syrup-kv-notapid');
    mkdirSync(unrelated);
    const file = join(parent, `syrup-kv-${deadPid()}-file01`);
    writeFileSync(file, '');

    expect(removeAbandoned(parent)).toEqual([abandoned]);
    expect(existsSync(abandoned)).toBe(false);
    expect([running, unrelated, file].map(existsSync)).toEqual([true, true, true]);
    expect(removeAbandoned(join(parent, 'missing'))).toEqual([]);
  });

  it('names its directory for this process, sweeps abandoned ones on create, and removes its own on close', () => {
    const parent = parentDirectory();
    const abandoned = join(parent, `syrup-kv-${deadPid()}-Zz9Zz9`);
    mkdirSync(abandoned);
    const data = LmdbDirectory.create(10, 8, parent);
    expect(existsSync(abandoned)).toBe(false);
    expect(data.directory.startsWith(join(parent, `syrup-kv-${process.pid}-`))).toBe(true);
    expect(existsSync(data.path)).toBe(true);
    data.close();
    expect(readdirSync(parent)).toEqual([]);
  });
});
