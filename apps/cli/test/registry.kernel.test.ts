import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeKernel } from '@syrup/test-support/kernel-gate';
import { isLoopbackUrl, LocalRegistry } from './support/local-registry.js';
import { freeUdpPort, freshEnv, readmeCommands, ShellSession } from './support/shell-session.js';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * The repository whose committed HEAD is cloned and released: this checkout, or
 * $SYRUP_README_TEST_REPO (a throwaway repository with uncommitted work committed). lerna
 * publishes only from a clean working tree, as a release is made (RELEASING.md).
 */
const SOURCE_REPO = process.env['SYRUP_README_TEST_REPO'] ?? resolve(here, '../../..');
const FIXTURES = join(here, 'fixtures', 'registry');
/** What `lerna publish` must put on the registry: every package that is not private. */
const PUBLISHED = ['@syrup/core', '@syrup/maps', '@syrup/backend-ebpf', '@syrup/runtime', '@syrup/policies-std', '@syrup/syrupd', '@syrup/cli'];

describeKernel('Syrup from a registry', { needs: ['bpf', 'bpffs'] }, () => {
  let dir: string | undefined;
  let registry: LocalRegistry | undefined;
  let session: ShellSession | undefined;
  const pinRoots: string[] = [];

  afterAll(async () => {
    await session?.end();
    await registry?.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    for (const pinRoot of pinRoots) rmSync(pinRoot, { recursive: true, force: true });
    // A clone with its node_modules and two installs: removing them takes a while on a busy machine.
  }, 300_000);

  it(
    "lerna publishes every package to a loopback registry; outside the repository the README's registry quickstart runs verbatim, a third-party pack and backend from there deploy and load by name, and a new pack passes its npm test",
    async () => {
      dir = mkdtempSync(join(tmpdir(), 'syrup-registry-'));
      const clone = join(dir, 'syrup');
      const consumer = join(dir, 'consumer');
      expect(relative(SOURCE_REPO, consumer).startsWith('..')).toBe(true);

      const cloned = spawnSync('git', ['clone', '--quiet', SOURCE_REPO, clone], { encoding: 'utf8', timeout: 120_000 });
      expect(cloned.status, `git clone failed: ${cloned.stderr}`).toBe(0);
      // As a release starts: a clean checkout and its locked dependencies (the machine's npm and Node).
      const installed = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: clone, env: freshEnv({}), encoding: 'utf8', timeout: 600_000 });
      expect(installed.status, `npm ci failed:\n${installed.stderr}`).toBe(0);

      registry = await LocalRegistry.start(join(dir, 'registry'));
      // Never publish anywhere but this machine: the URL is checked before anything is sent.
      expect(isLoopbackUrl(registry.url), `refusing to publish to ${registry.url}`).toBe(true);
      const userConfig = await registry.writeUserConfig(join(dir, 'publish.npmrc'));
      // The clone's own Node (node_modules/.bin/node) runs lerna and the packages' prepack builds.
      const releaseEnv = freshEnv({ NPM_CONFIG_USERCONFIG: userConfig }, [join(clone, 'node_modules', '.bin')]);
      const lerna = spawnSync(join(clone, 'node_modules', '.bin', 'lerna'), ['publish', 'from-package', '--yes', '--registry', registry.url], {
        cwd: clone,
        env: releaseEnv,
        encoding: 'utf8',
        timeout: 900_000,
      });
      expect(lerna.status, `lerna publish failed:\n${lerna.stdout}\n${lerna.stderr}`).toBe(0);
      for (const name of PUBLISHED) expect(await registry.versions(name), name).toEqual(['0.1.0']);
      for (const fixture of ['acme-policy-pack', 'acme-backend']) {
        const published = spawnSync('npm', ['publish', join(FIXTURES, fixture), '--registry', registry.url], { cwd: dir, env: releaseEnv, encoding: 'utf8', timeout: 120_000 });
        expect(published.status, `npm publish ${fixture} failed:\n${published.stderr}`).toBe(0);
      }

      // The consumer: an empty directory, a user whose npm takes the @syrup and @acme scopes from
      // the local registry (everything else from the ordinary one), and a Node 24 first on PATH,
      // as the README asks (this machine's own node may be older).
      mkdirSync(consumer);
      writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'syrup-consumer', private: true }));
      const consumerConfig = join(dir, 'consumer.npmrc');
      writeFileSync(consumerConfig, `@syrup:registry=${registry.url}\n@acme:registry=${registry.url}\n`);
      const nodeDir = join(dir, 'node-bin');
      mkdirSync(nodeDir);
      symlinkSync(process.execPath, join(nodeDir, 'node'));
      const port = await freeUdpPort();
      const pinRoot = join('/sys/fs/bpf', basename(dir));
      const pinRoot2 = `${pinRoot}-2`;
      pinRoots.push(pinRoot, pinRoot2);
      const env = freshEnv(
        { SYRUP_SOCKET: join(dir, 'syrupd.sock'), SYRUP_PORT: String(port), SYRUP_PIN_ROOT: pinRoot, SYRUP_STATE_FILE: join(dir, 'state.json'), SYRUP_STATE_DIR: join(dir, 'deployments'), NPM_CONFIG_USERCONFIG: consumerConfig },
        [nodeDir],
      );

      const commands = readmeCommands(readFileSync(join(clone, 'README.md'), 'utf8'), 'readme-registry-test');
      expect(commands[0]).toMatch(/^npm install @syrup\/cli @syrup\/policies-std/);
      session = new ShellSession(consumer, env);
      const results: { line: string; status: number; stdout: string; stderr: string }[] = [];
      for (const line of commands) {
        const result = await session.run(line, 600_000);
        results.push({ line, ...result });
        expect(result.status, `'${line}' exited ${result.status}: ${result.stderr}`).toBe(0);
      }
      const outputOf = (pattern: RegExp) => results.filter((r) => pattern.test(r.line)).map((r) => r.stdout);
      // The command and the daemon came from the registry, into the consumer's node_modules.
      const syrupdPackage = JSON.parse(readFileSync(join(consumer, 'node_modules', '@syrup', 'syrupd', 'package.json'), 'utf8')) as { version: string };
      expect(syrupdPackage.version).toBe('0.1.0');
      const [listed] = outputOf(/syrup ls --json/);
      const deployments = JSON.parse(listed ?? '') as { id: string; policy: string; hook: string; target: { port: number } }[];
      expect(deployments).toEqual([expect.objectContaining({ policy: 'round-robin', hook: 'socket-select', state: 'active', owner: 0, maps: ['next'], target: expect.objectContaining({ port }) })]);
      expect(outputOf(/syrup map get/)[0]).toBe('3\n');
      expect(outputOf(/syrup undeploy/)[0]).toBe(`undeployed ${deployments[0]?.id}\n`);

      // A third-party pack and backend, installed next to the CLI.
      const run = async (line: string): Promise<string> => {
        const result = await session!.run(line, 600_000);
        expect(result.status, `'${line}' exited ${result.status}: ${result.stderr}`).toBe(0);
        return result.stdout;
      };
      await run('npm install @acme/policies-fixture @acme/backend-fixture');
      await run('SERVER_PID=$(python3 node_modules/@syrup/cli/examples/udp_server.py $SYRUP_PORT 4 --background)');
      const packId = (await run('npx --no-install syrup deploy @acme/policies-fixture/every-other --hook socket-select --port $SYRUP_PORT --pid $SERVER_PID -q')).trim();
      await run('for i in 1 2 3 4 5; do echo "hello $i" > /dev/udp/127.0.0.1/$SYRUP_PORT; done');
      expect(await run(`npx --no-install syrup map get ${packId} seen 0`)).toBe('5\n');
      expect(JSON.parse(await run('npx --no-install syrup ls --json'))).toEqual([expect.objectContaining({ id: packId, policy: 'every-other' })]);
      expect(await run(`npx --no-install syrup undeploy ${packId}`)).toBe(`undeployed ${packId}\n`);
      await run('kill $SERVER_PID');

      // The starter: a new pack passes its own `npm test` as made (unit tests and, as root, the kernel test).
      await run('npx --no-install syrup new policy-pack my-pack --name @acme/my-pack');
      const packTest = await session.run('cd my-pack && npm install --no-audit --no-fund && npm test; status=$?; cd ..; exit_status=$status; (exit $exit_status)', 900_000);
      expect(packTest.status, `the new pack's npm test failed:\n${packTest.stdout}\n${packTest.stderr}`).toBe(0);
      expect(packTest.stdout).toMatch(/3 passed/);

      const socket2 = join(dir, 'syrupd-2.sock');
      await run(
        `npx --no-install syrup daemon --backend @acme/backend-fixture --socket ${socket2} --pin-root ${pinRoot2} --state-file ${join(dir, 'state-2.json')} --state-dir ${join(dir, 'deployments-2')} > syrupd-2.log 2>&1 &`,
      );
      await run(`npx --no-install syrup status --wait 60 --socket ${socket2}`);
      const hooks = JSON.parse(await run(`npx --no-install syrup hooks --json --socket ${socket2}`)) as { hook: string; backend: string; available: boolean }[];
      expect(hooks).toContainEqual(expect.objectContaining({ hook: 'acme-fixture', backend: 'acme-fixture', available: true }));
      const status = JSON.parse(await run(`npx --no-install syrup status --json --socket ${socket2}`)) as { backends?: { package: string; state: string; path?: string }[] };
      expect(status.backends).toEqual([expect.objectContaining({ package: '@acme/backend-fixture', state: 'loaded' })]);
    },
    30 * 60_000,
  );
});
