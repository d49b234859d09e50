import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { freeUdpPort, freshEnv, readmeCommands, ShellSession } from './support/shell-session.js';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * The repository whose committed HEAD is cloned: this checkout, or $SYRUP_README_TEST_REPO
 * (a throwaway repository with uncommitted work committed, to try the test before committing).
 * A clone has only committed files, so the README block and everything it runs must be committed.
 */
const SOURCE_REPO = process.env['SYRUP_README_TEST_REPO'] ?? resolve(here, '../../..');

describeKernel("the README's commands in a fresh clone", { needs: ['bpf', 'bpffs'] }, () => {
  let dir: string | undefined;
  let pinRoot: string | undefined;
  let session: ShellSession | undefined;

  afterAll(async () => {
    await session?.end();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    if (pinRoot !== undefined) rmSync(pinRoot, { recursive: true, force: true });
    // A clone with its node_modules: removing it takes a while on a busy machine.
  }, 300_000);

  it(
    'after `npm install` alone: starts the daemon, deploys a policy file with --pid on an unmodified Python server, ls --json, map get, undeploy',
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'syrup-readme-'));
      const clone = join(dir, 'syrup');
      pinRoot = join('/sys/fs/bpf', basename(dir));
      const cloned = spawnSync('git', ['clone', '--quiet', SOURCE_REPO, clone], { encoding: 'utf8', timeout: 120_000 });
      expect(cloned.status, `git clone failed: ${cloned.stderr}`).toBe(0);

      const port = await freeUdpPort();
      // Only the block's documented placeholders change, plus where syrupd keeps pins and state (never the machine's).
      const env = freshEnv({ SYRUP_SOCKET: join(dir, 'syrupd.sock'), SYRUP_PORT: String(port), SYRUP_PIN_ROOT: pinRoot, SYRUP_STATE_FILE: join(dir, 'state.json') });

      // The project's own rules apply (.npmrc: strict-allow-scripts), as for anyone who clones it.
      const install = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: clone, env, encoding: 'utf8', timeout: 600_000 });
      expect(install.status, `npm install failed:\n${install.stderr}`).toBe(0);

      const commands = readmeCommands(readFileSync(join(clone, 'README.md'), 'utf8'), 'readme-test');
      expect(commands.some((c) => c.includes('syrup daemon'))).toBe(true);
      session = new ShellSession(clone, env);
      const results: { line: string; status: number; stdout: string; stderr: string }[] = [];
      for (const line of commands) {
        const result = await session.run(line, 180_000);
        results.push({ line, ...result });
        expect(result.status, `'${line}' exited ${result.status}: ${result.stderr}`).toBe(0);
      }

      const lines = (pattern: RegExp) => results.filter((r) => pattern.test(r.line));
      const [listed, listedAfter] = lines(/syrup ls --json/);
      expect(JSON.parse(listed?.stdout ?? '')).toEqual([
        expect.objectContaining({ policy: 'round-robin', hook: 'socket-select', state: 'active', owner: 0, maps: ['next'], target: expect.objectContaining({ port }) }),
      ]);
      // Three datagrams through round robin: the counter is 3.
      expect(lines(/syrup map get/)[0]?.stdout).toBe('3\n');
      const id = (JSON.parse(listed?.stdout ?? '') as { id: string }[])[0]?.id;
      expect(lines(/syrup undeploy/)[0]?.stdout).toBe(`undeployed ${id}\n`);
      expect(JSON.parse(listedAfter?.stdout ?? '')).toEqual([]);
    },
    15 * 60_000,
  );
});
