import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * The package table of docs/architecture.md ("may depend on" column), for production dependencies
 * (`dependencies`, `peerDependencies`, `optionalDependencies`). Dev-only edges are free.
 * The apps are composition roots and clients, so besides the table's entries they may use
 * the foundation packages every other package builds on (errors, core, maps).
 */
export const ALLOWED_PRODUCTION_EDGES: Readonly<Record<string, readonly string[]>> = {
  '@syrup/errors': [],
  '@syrup/core': ['@syrup/errors', '@syrup/maps'],
  '@syrup/maps': ['@syrup/errors'],
  '@syrup/backend-ebpf': ['@syrup/errors', '@syrup/core', '@syrup/maps'],
  '@syrup/backend-nfp': ['@syrup/errors', '@syrup/core', '@syrup/maps', '@syrup/backend-ebpf'],
  '@syrup/backend-ghost': ['@syrup/errors', '@syrup/core', '@syrup/maps', '@syrup/backend-ebpf'],
  '@syrup/policies-std': ['@syrup/errors', '@syrup/core', '@syrup/maps'],
  '@syrup/runtime': ['@syrup/errors', '@syrup/core', '@syrup/maps'],
  '@syrup/syrupd': ['@syrup/runtime', '@syrup/backend-ebpf', '@syrup/backend-ghost', '@syrup/backend-nfp', '@syrup/errors', '@syrup/core', '@syrup/maps'],
  '@syrup/cli': ['@syrup/runtime', '@syrup/syrupd', '@syrup/errors', '@syrup/core', '@syrup/maps'],
  '@syrup/bench': ['*'],
  '@syrup/repo-checks': [],
  '@syrup/test-support': [],
};

const PRODUCTION_FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'] as const;

export interface PackageManifest {
  /** Where the package.json was read, relative to the repository root. */
  readonly path: string;
  readonly name: string;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}

/** Reads every workspace package.json under `packages/`, `apps/` and `tools/` of `root`. */
export function readWorkspaceManifests(root: string): PackageManifest[] {
  const manifests: PackageManifest[] = [];
  for (const group of ['packages', 'apps', 'tools']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = join(dir, entry.name, 'package.json');
      if (!entry.isDirectory() || !existsSync(file)) continue;
      const json = JSON.parse(readFileSync(file, 'utf8')) as Omit<PackageManifest, 'path'>;
      manifests.push({ ...json, path: relative(root, file) });
    }
  }
  return manifests;
}

/** One sentence per production edge the table does not allow, or per package it does not know. */
export function dependencyViolations(manifests: readonly PackageManifest[]): string[] {
  const violations: string[] = [];
  for (const manifest of manifests) {
    const allowed = ALLOWED_PRODUCTION_EDGES[manifest.name];
    if (allowed === undefined) {
      violations.push(`${manifest.path}: package '${manifest.name}' is not in the package table of docs/architecture.md.`);
      continue;
    }
    for (const field of PRODUCTION_FIELDS) {
      for (const dependency of Object.keys(manifest[field] ?? {})) {
        if (!dependency.startsWith('@syrup/')) continue;
        if (allowed.includes('*') || allowed.includes(dependency)) continue;
        violations.push(
          `${manifest.path}: '${manifest.name}' may not depend on '${dependency}' in ${field} (docs/architecture.md allows: ${allowed.join(', ') || 'nothing of ours'}).`,
        );
      }
    }
  }
  return violations;
}
