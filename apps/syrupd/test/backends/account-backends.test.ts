import 'reflect-metadata';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HookRegistry, registerHookRegistry, type HookRegistry as HookRegistryType } from '@syrup/core';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadBackends } from '@syrup/runtime';
import { accountBackends } from '../../src/backends/account-backends.js';
import { PROJECT_BACKENDS } from '../../src/backends/project-backends.js';
import { backendIndex, writePackage } from '@syrup/test-support/backend-packages';

const INSTALL_DIR = fileURLToPath(new URL('../..', import.meta.url));

describe('loadBackends and accountBackends', () => {
  let dir: string;
  let container: DependencyContainer;

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'syrupd-backends-')));
    container = rootContainer.createChildContainer();
    registerHookRegistry(container);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  async function load(specs: readonly string[]) {
    const outcomes = await loadBackends(specs, container, { cwd: dir, installDir: INSTALL_DIR, conditions: new Set(['node', 'import']) });
    const registry = container.resolve<HookRegistryType>(HookRegistry);
    return { outcomes, registry, account: await accountBackends(outcomes, registry) };
  }

  it('serves the packages that load, reports each one that does not, and credits each accepted backend to its package', async () => {
    writePackage(join(dir, 'node_modules/@acme/queue'), { name: '@acme/queue' }, { 'index.js': backendIndex('queue', ['work-queue']) });
    writePackage(join(dir, 'broken'), { name: 'broken' }, { 'index.js': "throw new Error('boom');\n" });
    const { registry, account } = await load(['@acme/queue', './broken', '@acme/missing', '@acme/queue']);
    expect(account.packages).toEqual([
      { package: '@acme/queue', state: 'loaded', path: join(dir, 'node_modules/@acme/queue'), backends: ['queue'] },
      { package: './broken', state: 'failed', reason: `importing 'broken' (${join(dir, 'broken/index.js')}) threw: boom.`, path: join(dir, 'broken') },
      { package: '@acme/missing', state: 'not-found', reason: expect.stringMatching(/^backend package '@acme\/missing' is not installed: /) },
    ]);
    expect((await registry.backendFor('work-queue')).backend.name).toBe('queue');
  });

  it("reports a package whose backend declares a hook another package's backend already has as refused, naming both; the first keeps it", async () => {
    writePackage(join(dir, 'first'), { name: 'first' }, { 'index.js': backendIndex('one', ['socket-select']) });
    writePackage(join(dir, 'second'), { name: 'second' }, { 'index.js': backendIndex('two', ['socket-select']) });
    const { registry, account } = await load(['./first', './second']);
    expect(account.packages.map((p) => [p.package, p.state, p.reason, p.backends])).toEqual([
      ['./first', 'loaded', undefined, ['one']],
      ['./second', 'refused', "backend 'two' is refused: it declares hook 'socket-select', which backend 'one' already provides.", []],
    ]);
    expect((await registry.backendFor('socket-select')).backend.name).toBe('one');
  });

  it('says for each standard hook no loaded backend declares which project package would provide it and why it is not loaded', async () => {
    writePackage(join(dir, 'first'), { name: 'first' }, { 'index.js': backendIndex('one', ['socket-select']) });
    // A placeholder of the project's NFP package (a package.json, no entry), found before syrupd's own installation.
    writePackage(join(dir, 'node_modules/@syrup/backend-nfp'), { name: '@syrup/backend-nfp' }, {});
    const { account } = await load(['./first', '@syrup/backend-nfp']);
    expect(account.packages[1]).toMatchObject({ package: '@syrup/backend-nfp', state: 'not-a-backend' });
    expect(Object.fromEntries(account.unprovidedHooks.map((h) => [h.hook.id, [h.backend, h.available, h.reason]]))).toEqual({
      'xdp-skb': ['@syrup/backend-ebpf', false, "it would come from '@syrup/backend-ebpf', which was not asked for (syrupd loads only the --backend packages when any is given)."],
      'xdp-drv': ['@syrup/backend-ebpf', false, "it would come from '@syrup/backend-ebpf', which was not asked for (syrupd loads only the --backend packages when any is given)."],
      'cpu-redirect': ['@syrup/backend-ebpf', false, "it would come from '@syrup/backend-ebpf', which was not asked for (syrupd loads only the --backend packages when any is given)."],
      'xdp-offload': ['@syrup/backend-nfp', false, "it would come from '@syrup/backend-nfp', which is not a backend yet (it has no entry module to import)."],
      thread: ['@syrup/backend-ghost', false, "it would come from '@syrup/backend-ghost', which was not asked for (syrupd loads only the --backend packages when any is given)."],
    });
  });

  it("loads the project's own packages by default: the eBPF, ghOSt-model and NFP backends from syrupd's installation", async () => {
    // The clone's sources: tsx or vitest load them through the `source` condition.
    const outcomes = await loadBackends(PROJECT_BACKENDS, container, { cwd: dir, installDir: INSTALL_DIR, conditions: new Set(['node', 'import', 'source']) });
    expect(outcomes.map((o) => [o.spec, o.state])).toEqual([
      ['@syrup/backend-ebpf', 'loaded'],
      ['@syrup/backend-ghost', 'loaded'],
      ['@syrup/backend-nfp', 'loaded'],
    ]);
    const registry = container.resolve<HookRegistryType>(HookRegistry);
    expect(registry.backends().map((r) => [r.backend.name, r.refused])).toEqual([
      ['ebpf', undefined],
      ['ghost', undefined],
      ['nfp', undefined],
    ]);
    const account = await accountBackends(outcomes, registry);
    // Every standard hook has its project backend now.
    expect(account.unprovidedHooks).toEqual([]);
  });

  it('knows a project package given by its directory path by its package name', async () => {
    const placeholder = writePackage(join(dir, 'nfp-placeholder'), { name: '@syrup/backend-nfp' }, {});
    const { account } = await load([placeholder]);
    expect(account.packages[0]).toMatchObject({ state: 'not-a-backend', path: placeholder });
    expect(account.unprovidedHooks.find((h) => h.hook.id === 'xdp-offload')?.reason).toBe("it would come from '@syrup/backend-nfp', which is not a backend yet (it has no entry module to import).");
  });

  it('names a project package that is not installed as such', async () => {
    writePackage(join(dir, 'first'), { name: 'first' }, { 'index.js': backendIndex('one', ['thread']) });
    const outcomes = await loadBackends(['./first'], container, { cwd: dir, installDir: dir, conditions: new Set(['node', 'import']) });
    const account = await accountBackends([...outcomes, { spec: '@syrup/backend-ebpf', state: 'not-found', reason: 'not there.' }], container.resolve<HookRegistryType>(HookRegistry));
    expect(account.unprovidedHooks[0]?.reason).toBe("it would come from '@syrup/backend-ebpf', which is not installed.");
  });
});
