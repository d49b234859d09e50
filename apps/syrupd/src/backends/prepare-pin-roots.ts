import type { HookRegistry } from '@syrup/core';

/**
 * Has each backend the registry accepted, with at least one hook available here, prepare the
 * pin root (core's optional `Backend.preparePinRoot`; the eBPF backend mounts bpffs). A backend
 * that cannot run here is not asked: it would fail for the reason its probe already gave. A
 * throw propagates: without a usable pin root nothing could be pinned or recovered.
 */
export async function preparePinRoots(registry: HookRegistry, pinRoot: string): Promise<readonly string[]> {
  const hooks = await registry.hooks();
  const prepared: string[] = [];
  for (const { backend, refused } of registry.backends()) {
    if (refused !== undefined || backend.preparePinRoot === undefined) continue;
    if (!hooks.some((h) => h.backend === backend.name && h.available)) continue;
    await backend.preparePinRoot(pinRoot);
    prepared.push(backend.name);
  }
  return prepared;
}
