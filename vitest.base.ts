import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const repositoryRoot = dirname(fileURLToPath(import.meta.url));

/**
 * Shared vitest settings. Workspace packages resolve each other through the `source` export
 * condition (their TypeScript sources), so tests never need a prior build.
 */
export function syrupVitestConfig(options: { kernel?: boolean; testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions: ['source', 'module', 'node', 'import', 'default'] },
    ssr: { resolve: { conditions: ['source', 'node', 'import', 'default'], externalConditions: ['source'] } },
    // The global setup (the kernel suites' bpffs mount) runs in vitest's own environment, which
    // must find workspace packages the same way: bpffs.ts reaches @syrup/errors through PinError.
    environments: { __vitest__: { resolve: { conditions: ['source', 'node', 'import', 'default'], externalConditions: ['source'] } } },
    test: {
      include: ['test/**/*.test.ts'],
      environment: 'node',
      testTimeout: options.testTimeout ?? 30_000,
      hookTimeout: 60_000,
      // Suites that touch shared kernel state (bpffs, ports, namespaces) run one file at a time.
      fileParallelism: options.kernel ? false : true,
      // Kernel suites find bpffs mounted even on a freshly booted machine (mounted once, before any worker).
      globalSetup: options.kernel ? [join(repositoryRoot, 'packages/backend-ebpf/test/global-setup/mount-bpffs.ts')] : [],
      // A test file of a kernel suite that ends with a bpf object open it did not have at its start fails (tools/test-support/src/fd-leak-check.ts).
      setupFiles: options.kernel ? [join(repositoryRoot, 'tools/test-support/src/fd-leak-check.ts')] : [],
      pool: 'forks',
      // Bins the tests start (syrup, syrupd) run the TypeScript sources under test, never a dist/ left by an earlier build.
      env: { SYRUP_FROM_SOURCE: '1' },
      // The JSON reports let .ci/run print one 'N passed, N failed' line for the whole repository.
      reporters: ['default', 'json'],
      outputFile: { json: join(repositoryRoot, '.test-results', `${basename(process.cwd())}.json`) },
    },
  });
}
