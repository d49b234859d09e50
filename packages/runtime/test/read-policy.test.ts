import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerHookRegistry } from '@syrup/core';
import { container } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { readPolicy, RuntimeService } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('readPolicy (client side)', () => {
  it('resolves a package specifier through the pack\'s exports from the caller\'s cwd', async () => {
    const source = await readPolicy('@syrup/policies-std/sita', join(here, '..'));
    // Outside cwd (the workspace link resolves to the pack's real directory): the absolute path.
    expect(source.fileName).toBe(join(here, '..', '..', 'policies-std', 'src', 'sita.ts'));
    expect(source.text).toContain("name: 'sita'");
  });

  it('reads a relative path from cwd and passes text through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'syrup-read-'));
    try {
      writeFileSync(join(dir, 'p.ts'), 'export default 1;');
      expect(await readPolicy('./p.ts', dir)).toEqual({ fileName: 'p.ts', text: 'export default 1;' });
      mkdirSync(join(dir, 'policies'));
      writeFileSync(join(dir, 'policies', 'q.ts'), 'export default 2;');
      // Inside cwd: the path from cwd, not the bare file name.
      expect((await readPolicy('policies/q.ts', dir)).fileName).toBe(join('policies', 'q.ts'));
      expect((await readPolicy(join(dir, 'policies', 'q.ts'), join(dir, 'policies', '..'))).fileName).toBe(join('policies', 'q.ts'));
      expect(await readPolicy({ fileName: 'x.ts', text: 'y' }, dir)).toEqual({ fileName: 'x.ts', text: 'y' });
      await expect(readPolicy('./missing.ts', dir)).rejects.toThrow("cannot read policy './missing.ts': no such file.");
      await expect(readPolicy('@syrup/policies-std/no-such', dir)).rejects.toThrow(/^cannot resolve policy '@syrup\/policies-std\/no-such' from /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('RuntimeService', () => {
  it('never opens a path: a string policy is refused with a reason', async () => {
    const child = container.createChildContainer();
    registerHookRegistry(child);
    const service = child.resolve(RuntimeService);
    await expect(service.deploy('/etc/shadow', { hook: 'socket-select', port: 1 })).rejects.toThrow(
      'the runtime service takes policy text, not a path; read the file on the client side.',
    );
  });
});
