import 'reflect-metadata';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HookRegistry, registerHookRegistry, SyrupError, type HookRegistry as HookRegistryType } from '@syrup/core';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BackendLoadError } from '../../src/backends/backend-load-error.js';
import { loadBackendPackage } from '../../src/backends/load-backend-package.js';
import { backendIndex, writePackage } from '@syrup/test-support/backend-packages';

const INSTALL_DIR = fileURLToPath(new URL('../..', import.meta.url));
const CONDITIONS = new Set(['node', 'import']);

describe('loadBackendPackage', () => {
  let dir: string;
  let container: DependencyContainer;

  beforeEach(() => {
    dir = realpathSync(mkdtempSync(join(tmpdir(), 'syrupd-loader-')));
    container = rootContainer.createChildContainer();
    registerHookRegistry(container);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const options = () => ({ cwd: dir, installDir: INSTALL_DIR, conditions: CONDITIONS });
  const registry = () => container.resolve<HookRegistryType>(HookRegistry);
  const refusal = async (spec: string): Promise<BackendLoadError> => {
    const error: unknown = await loadBackendPackage(spec, container, options()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BackendLoadError);
    expect(error).toBeInstanceOf(SyrupError);
    return error as BackendLoadError;
  };

  it('loads a package by name from node_modules of the working directory and registers its backend', async () => {
    const pkg = writePackage(join(dir, 'node_modules/@acme/backend-queue'), { name: '@acme/backend-queue', exports: { '.': { import: './index.js' } } }, { 'index.js': backendIndex('queue', ['work-queue']) });
    const loaded = await loadBackendPackage('@acme/backend-queue', container, options());
    expect(loaded).toEqual({ spec: '@acme/backend-queue', name: '@acme/backend-queue', dir: pkg, backendCount: 1 });
    expect((await registry().hooks()).map((h) => [h.hook.id, h.backend, h.available])).toEqual([['work-queue', 'queue', true]]);
  });

  it('resolves a name from a parent directory of the working directory, as Node does', async () => {
    writePackage(join(dir, 'node_modules/backend-up'), { name: 'backend-up', main: 'lib/entry.js' }, { 'lib/entry.js': backendIndex('up', ['up-hook']) });
    const loaded = await loadBackendPackage('backend-up', container, { ...options(), cwd: join(dir, 'deep', 'er') });
    expect(loaded.dir).toBe(join(dir, 'node_modules/backend-up'));
    expect((await registry().hooks()).map((h) => h.hook.id)).toEqual(['up-hook']);
  });

  it('loads a package directory given by a relative or an absolute path; a default-exported BackendModule works too', async () => {
    writePackage(join(dir, 'pkgs/rel'), { name: 'rel' }, { 'index.js': backendIndex('rel', ['rel-hook']) });
    writePackage(join(dir, 'pkgs/abs'), { name: 'abs', exports: './mod.js' }, {
      'mod.js': `${backendIndex('abs', ['abs-hook']).replace('export function register', 'function register')}\nexport default { name: 'abs', register };\n`,
    });
    expect((await loadBackendPackage('./pkgs/rel', container, options())).name).toBe('rel');
    expect((await loadBackendPackage(join(dir, 'pkgs/abs'), container, options())).name).toBe('abs');
    expect((await registry().hooks()).map((h) => h.hook.id)).toEqual(['rel-hook', 'abs-hook']);
  });

  it('refuses a name found nowhere with one sentence naming the places it looked', async () => {
    const error = await refusal('@acme/not-there');
    expect(error.code).toBe('BACKEND_NOT_FOUND');
    expect(error.message).toBe(`backend package '@acme/not-there' is not installed: no node_modules/@acme/not-there from the working directory ${dir} and from syrupd's installation ${INSTALL_DIR.replace(/\/$/, '')} up to /.`);
    expect((await refusal('./nowhere')).message).toBe(`backend package directory '${join(dir, 'nowhere')}' does not exist or holds no package.json.`);
    expect((await refusal('not a name!')).message).toBe("backend 'not a name!' is neither a package name nor a directory path (start a path with ./, ../ or /).");
  });

  it('reports a package whose import throws, and one whose declared entry is missing', async () => {
    writePackage(join(dir, 'node_modules/throws'), { name: 'throws' }, { 'index.js': "throw new Error('the device is missing\\nsecond line');\n" });
    const thrown = await refusal('throws');
    expect(thrown.code).toBe('BACKEND_IMPORT_FAILED');
    expect(thrown.message).toBe(`importing 'throws' (${join(dir, 'node_modules/throws/index.js')}) threw: the device is missing.`);
    writePackage(join(dir, 'node_modules/unbuilt'), { name: 'unbuilt', exports: { '.': { source: './src/index.ts', import: './dist/index.js' } } }, {});
    const unbuilt = await refusal('unbuilt');
    expect(unbuilt.code).toBe('BACKEND_IMPORT_FAILED');
    expect(unbuilt.message).toBe(`'unbuilt' (${join(dir, 'node_modules/unbuilt')}) cannot be imported: its entry dist/index.js does not exist (is the package built?).`);
  });

  it('says a package without register, or without any entry, is not a backend yet', async () => {
    writePackage(join(dir, 'node_modules/plain'), { name: 'plain' }, { 'index.js': 'export const answer = 42;\n' });
    const plain = await refusal('plain');
    expect(plain.code).toBe('BACKEND_NO_REGISTER');
    expect(plain.message).toBe(`'plain' (${join(dir, 'node_modules/plain')}) is not a backend yet: it exports no register(container) function.`);
    expect(plain.detail).toBe('it exports no register(container) function');
    writePackage(join(dir, 'node_modules/placeholder'), { name: 'placeholder' }, {});
    const placeholder = await refusal('placeholder');
    expect(placeholder.code).toBe('BACKEND_NO_REGISTER');
    expect(placeholder.detail).toBe('it has no entry module to import');
  });

  it('keeps nothing a register registered before it threw', async () => {
    writePackage(join(dir, 'node_modules/half'), { name: 'half' }, { 'index.js': backendIndex('half', ['half-hook'], "throw new Error('no licence for the second hook');") });
    const error = await refusal('half');
    expect(error.code).toBe('BACKEND_REGISTER_FAILED');
    expect(error.message).toBe("the register(container) of 'half' threw: no licence for the second hook.");
    expect(registry().backends()).toEqual([]);
  });

  it('refuses an asynchronous register, which would register after the registry looked', async () => {
    writePackage(join(dir, 'node_modules/later'), { name: 'later' }, { 'index.js': 'export async function register() {}\n' });
    const error = await refusal('later');
    expect(error.code).toBe('BACKEND_REGISTER_FAILED');
    expect(error.message).toBe("the register(container) of 'later' threw: it returned a promise, and register(container) must register synchronously.");
  });
});
