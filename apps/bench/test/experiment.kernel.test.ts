import { describeKernel } from '@syrup/test-support/kernel-gate';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const EXPERIMENT_BIN = fileURLToPath(new URL('../bin/experiment.mjs', import.meta.url));

describeKernel('experiment (kernel)', () => {
  const out = mkdtempSync(join(tmpdir(), 'syrup-experiment-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('token-qos with no capacity to find says so in one sentence, exits 1 and writes nothing', () => {
    // 200k req/s is far beyond what the server serves within 1 ms: the coarse sweep finds no capacity.
    const result = spawnSync(process.execPath, [EXPERIMENT_BIN, '--experiment', 'token-qos', '--loads', '200000', '--duration', '0.5', '--warmup', '0', '--out', out], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    // Progress lines come first (stderr, no TTY); the error is the last line, one sentence.
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(
      /^experiment: token-qos: the server kept round-robin's GET p99 within 1000 us at none of the coarse capacity loads \(200000 req\/s\), so there is no capacity to take shares of: .*; nothing was written\.$/,
    );
    expect(lines.slice(0, -1).every((line) => line.startsWith('['))).toBe(true);
    expect(result.stderr).not.toContain('    at ');
    expect(readdirSync(out)).toEqual([]);
  });
});
