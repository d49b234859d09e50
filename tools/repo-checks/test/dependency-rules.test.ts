import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { dependencyViolations, readWorkspaceManifests } from '../src/dependency-rules.js';

const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));
const forbiddenFixture = fileURLToPath(new URL('./fixtures/forbidden-edge', import.meta.url));

describe('production dependencies follow docs/architecture.md', () => {
  it('holds for every package of this repository', () => {
    const manifests = readWorkspaceManifests(repositoryRoot);
    expect(manifests.map((m) => m.name)).toContain('@syrup/core');
    expect(manifests.length).toBeGreaterThanOrEqual(6);
    expect(dependencyViolations(manifests)).toEqual([]);
  });

  it('fails on forbidden production edges, including peer dependencies, but not on dev-only edges', () => {
    expect(dependencyViolations(readWorkspaceManifests(forbiddenFixture))).toEqual([
      "packages/core/package.json: '@syrup/core' may not depend on '@syrup/backend-ebpf' in peerDependencies (docs/architecture.md allows: @syrup/errors, @syrup/maps).",
      "packages/maps/package.json: '@syrup/maps' may not depend on '@syrup/core' in dependencies (docs/architecture.md allows: @syrup/errors).",
    ]);
  });

  it('fails on a package the table does not know', () => {
    expect(dependencyViolations([{ path: 'packages/x/package.json', name: '@syrup/x' }])).toEqual([
      "packages/x/package.json: package '@syrup/x' is not in the package table of docs/architecture.md.",
    ]);
  });
});
