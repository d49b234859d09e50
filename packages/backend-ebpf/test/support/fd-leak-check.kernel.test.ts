import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { afterAll, expect, it } from 'vitest';

const FIXTURES = join(import.meta.dirname, '../fixtures/fd-leak-check');
const VITEST = join(import.meta.dirname, '../../../../node_modules/vitest/vitest.mjs');

interface FileResult {
  readonly name: string;
  readonly status: string;
  readonly message: string;
}

/**
 * The proof that the setup file every kernel suite runs (tools/test-support/src/fd-leak-check.ts)
 * catches a real leak and only that: vitest runs two fixture files in a child, one that leaves a
 * bpf map open, one that closes its maps while node opens fds of its own (a child process, a
 * socket, a file watcher, timers).
 */
describeKernel('the fd-leak check of kernel suites', { needs: ['bpf'] }, () => {
  const out = mkdtempSync(join(tmpdir(), 'syrup-fd-leak-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  const run = (): { status: number | null; files: FileResult[] } => {
    const report = join(out, 'report.json');
    const child = spawnSync(process.execPath, [VITEST, 'run', '--config', join(FIXTURES, 'vitest.config.ts'), '--reporter=json', `--outputFile=${report}`], {
      cwd: FIXTURES,
      encoding: 'utf8',
      timeout: 120_000,
      // The child is a vitest of its own, not a worker of this one.
      env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST'))),
    });
    const json = JSON.parse(readFileSync(report, 'utf8')) as { testResults: FileResult[] };
    return { status: child.status, files: json.testResults };
  };

  it('fails the file that leaves a bpf map open, naming the fd, and passes the one that closes its maps', () => {
    const { status, files } = run();
    const byName = (suffix: string): FileResult => {
      const file = files.find((f) => f.name.endsWith(suffix));
      if (file === undefined) throw new Error(`no result for ${suffix} among ${files.map((f) => f.name).join(', ')}`);
      return file;
    };
    expect(status).toBe(1);
    const leaking = byName('leaks-a-map.fixture.ts');
    expect(leaking.status).toBe('failed');
    expect(leaking.message).toMatch(/^fd leak: this test file left 1 kernel object\(s\) open that were not open before it: fd \d+ \(anon_inode:bpf-map\)/m);
    const clean = byName('closes-everything.fixture.ts');
    expect({ status: clean.status, message: clean.message }).toEqual({ status: 'passed', message: '' });
  });
});
