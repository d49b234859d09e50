import { describeKernel } from '@syrup/test-support/kernel-gate';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const EXPERIMENT_BIN = fileURLToPath(new URL('../bin/experiment.mjs', import.meta.url));

describeKernel('experiment (kernel)', { needs: ['bpf', 'bpffs'] }, () => {
  const out = mkdtempSync(join(tmpdir(), 'syrup-experiment-test-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('token-qos with no saturation throughput to find says so in one sentence, exits 1 and writes nothing', () => {
    // 200k req/s is far beyond what the server (and the load generator) keeps up with: the sweep finds no S.
    const result = spawnSync(process.execPath, [EXPERIMENT_BIN, '--experiment', 'token-qos', '--loads', '200000', '--duration', '0.5', '--warmup', '0', '--out', out], {
      encoding: 'utf8',
      // One run of 0.5 s, but starting the server and the load generator takes long on a busy machine.
      timeout: 150_000,
    });
    expect(result.status).toBe(1);
    // Progress lines come first (stderr, no TTY); the error is the last line, one sentence.
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(
      /^experiment: token-qos: round-robin achieved 98% of the offered rate at none of the saturation sweep's loads \(200000 req\/s\), so there is no saturation throughput to overload: pass lower --loads; nothing was written\.$/,
    );
    expect(lines.slice(0, -1).every((line) => line.startsWith('['))).toBe(true);
    expect(result.stderr).not.toContain('    at ');
    expect(readdirSync(out)).toEqual([]);
  }, 160_000);
});
