import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const packages = resolve(here, '../..');
/** Where this repository's workspace specifiers live (the `source` condition of their exports). */
const WORKSPACE: Readonly<Record<string, string>> = {
  '@syrup/core/errors': join(packages, 'core/src/errors/index.ts'),
  '@syrup/errors': join(packages, 'errors/src/index.ts'),
  '@syrup/maps': join(packages, 'maps/src/index.ts'),
};

/** Every module specifier a file imports at run time (`import type` and `export type` left out). */
function runtimeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\s)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"];?/gm)) specifiers.push(match[1] as string);
  return specifiers;
}

/** The files reachable from `entry` through run-time imports, and the bare specifiers met on the way. */
function graph(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const specifier of runtimeImports(file)) {
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
        visit(existsSync(target) ? target : target.replace(/\.ts$/, '/index.ts'));
      } else if (WORKSPACE[specifier] !== undefined) {
        visit(WORKSPACE[specifier] as string);
      } else {
        external.add(specifier);
      }
    }
  };
  visit(entry);
  return { files, external };
}

describe("the client entry (@syrup/runtime/client) loads no compiler", () => {
  it('reaches neither typescript nor the service nor the whole of @syrup/core', () => {
    const { files, external } = graph(join(here, '../src/client/index.ts'));
    expect([...files].some((f) => f.endsWith('client/connect.ts'))).toBe(true);
    expect([...external].filter((s) => s === 'typescript' || s === '@syrup/core' || s.startsWith('@syrup/backend'))).toEqual([]);
    expect([...files].filter((f) => f.includes('/service/') || f.includes('/compiler/'))).toEqual([]);
  });

  it('would catch a value import of the whole core (the check is not vacuous)', () => {
    const { external } = graph(join(here, '../src/index.ts'));
    expect(external.has('@syrup/core')).toBe(true);
  });
});
