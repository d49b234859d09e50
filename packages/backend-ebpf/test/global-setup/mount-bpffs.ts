import { probeFeature } from '../../src/features/index.js';
import { BPFFS_MOUNT_POINT, ensureBpffs } from '../../src/pin/bpffs.js';

/**
 * vitest `globalSetup` of every package with kernel suites (vitest.base.ts adds it): mounts
 * bpffs at its usual place when a freshly booted machine has none, once per package run and
 * before any test worker starts, so that two workers (or two daemons a test starts) never
 * mount at once: stacked bpffs mounts would hide the pins made under the lower one.
 * Unprivileged runs do nothing here; their kernel suites skip, or fail under
 * SYRUP_REQUIRE_KERNEL=1, with their own one-line reason. It asks the capability probe by a
 * relative import, not through @syrup/test-support: vitest loads global setups without the
 * `source` export condition, so a workspace package would resolve to its unbuilt dist/.
 */
export default function mountBpffs(): void {
  if (!probeFeature('cap-bpf').available) return;
  ensureBpffs(BPFFS_MOUNT_POINT);
}
