// Test fixtures: backend packages written to a temporary directory, for the tests of the backend loader (runtime) and of syrupd's account of it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The text of a backend package's index.js that registers one in-memory backend declaring
 * `hooks`. It imports nothing: core's `Backend` token is a global symbol, so a package that
 * cannot even resolve @syrup/core still registers under it.
 */
export function backendIndex(name: string, hooks: readonly string[], extra = ''): string {
  return `const Backend = Symbol.for('@syrup/core.Backend');
const hooks = ${JSON.stringify(hooks)};
export const backend = {
  name: ${JSON.stringify(name)},
  hooks: hooks.map((id) => ({ id, layer: 'userspace work queue', inputs: ['udp'], executor: 'socket', verdicts: ['pass', 'drop'] })),
  probe: async () => hooks.map((hook) => ({ hook, available: true })),
  compile: async () => { throw new Error('not used'); },
  attach: async () => { throw new Error('not used'); },
};
export function register(container) {
  container.register(Backend, { useValue: backend });
  ${extra}
}
`;
}

/** Writes a package directory: package.json from `manifest` and the given files. */
export function writePackage(dir: string, manifest: Record<string, unknown>, files: Readonly<Record<string, string>>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', ...manifest }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}
