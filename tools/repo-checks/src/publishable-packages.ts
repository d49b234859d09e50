import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * What every publishable workspace package (one without `"private": true`) must have so that
 * `lerna publish` ships something a registry user can run: a `prepack` that builds the `dist/`
 * its `exports` point into, LICENSE and README.md in `files` and on disk (LICENSE the root's
 * text), a `repository` naming its directory, `engines.node` as `>=X.Y.Z` (the bins' Node
 * check reads it), public access for the scope, and a place in lerna.json's `packages`.
 * Packages merged later are caught here, not on the registry.
 */
export function publishableViolations(root: string): string[] {
  const violations: string[] = [];
  const license = readFileSync(join(root, 'LICENSE'), 'utf8');
  const lerna = JSON.parse(readFileSync(join(root, 'lerna.json'), 'utf8')) as { packages?: string[] };
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { repository?: { url?: string } };
  for (const dir of workspaceDirs(root)) {
    const path = relative(root, dir);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;
    if (pkg.private === true) continue;
    const where = `${path}/package.json`;
    if (typeof pkg.scripts?.['prepack'] !== 'string') violations.push(`${where}: '${pkg.name}' has no prepack script, so a packed tarball has no dist/.`);
    for (const file of ['LICENSE', 'README.md']) {
      if (!(pkg.files ?? []).includes(file)) violations.push(`${where}: '${pkg.name}' does not list ${file} in files.`);
      if (!existsSync(join(dir, file))) violations.push(`${path}: '${pkg.name}' has no ${file}.`);
    }
    if (existsSync(join(dir, 'LICENSE')) && readFileSync(join(dir, 'LICENSE'), 'utf8') !== license) violations.push(`${path}/LICENSE differs from the repository's LICENSE.`);
    if (existsSync(join(dir, 'docs')) && !(pkg.files ?? []).includes('docs')) violations.push(`${where}: '${pkg.name}' has docs/ but does not list it in files.`);
    if (pkg.repository?.url !== rootManifest.repository?.url || pkg.repository?.directory !== path) {
      violations.push(`${where}: '${pkg.name}' needs repository { url: the root package.json's, directory: '${path}' }.`);
    }
    if (!/^>=\d+\.\d+\.\d+$/.test(pkg.engines?.node ?? '')) violations.push(`${where}: '${pkg.name}' needs engines.node as '>=X.Y.Z'.`);
    if (pkg.name.startsWith('@') && pkg.publishConfig?.access !== 'public') violations.push(`${where}: '${pkg.name}' needs publishConfig.access 'public' (a scoped package is private on npm otherwise).`);
    const group = path.split('/')[0] ?? '';
    if (!(lerna.packages ?? []).some((glob) => glob === path || glob === `${group}/*`)) violations.push(`${where}: '${pkg.name}' is not covered by lerna.json's packages, so releases skip it.`);
  }
  return violations;
}

interface Manifest {
  readonly name: string;
  readonly private?: boolean;
  readonly scripts?: Record<string, string>;
  readonly files?: readonly string[];
  readonly repository?: { readonly url?: string; readonly directory?: string };
  readonly engines?: { readonly node?: string };
  readonly publishConfig?: { readonly access?: string };
}

/** The package directories under packages/, apps/ and tools/. */
function workspaceDirs(root: string): string[] {
  const dirs: string[] = [];
  for (const group of ['packages', 'apps', 'tools']) {
    const base = join(root, group);
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base, { withFileTypes: true })) {
      if (entry.isDirectory() && existsSync(join(base, entry.name, 'package.json'))) dirs.push(join(base, entry.name));
    }
  }
  return dirs;
}
