import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { FindOptions } from './find-backend-package.js';

/**
 * The names of the backend packages installed where `findBackendPackage` would look (the
 * `node_modules` of the working directory, the installation and their parents), found by the
 * naming convention of Syrup backends: `@<scope>/backend-<name>` or `syrup-backend-<name>`. A
 * program that loads "the installed backends" (the CLI's `syrup check`) names none itself; a
 * package found this way that is not a backend yet is reported by `loadBackends` as such.
 */
export function findInstalledBackends(options: FindOptions): string[] {
  const found = new Set<string>();
  for (const start of new Set([resolve(options.cwd), resolve(options.installDir)])) {
    for (let dir = start; ; dir = dirname(dir)) {
      const modules = join(dir, 'node_modules');
      if (existsSync(modules)) for (const name of backendNames(modules)) found.add(name);
      if (dirname(dir) === dir) break;
    }
  }
  return [...found].sort();
}

function backendNames(modules: string): string[] {
  const names: string[] = [];
  for (const entry of entries(modules)) {
    if (entry.startsWith('@')) {
      for (const scoped of entries(join(modules, entry))) if (scoped.startsWith('backend-')) names.push(`${entry}/${scoped}`);
    } else if (entry.startsWith('syrup-backend-')) {
      names.push(entry);
    }
  }
  return names;
}

function entries(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
