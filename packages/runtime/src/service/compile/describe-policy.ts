import { HookUnavailableError, type Backend, type DeployTarget, type HookId, type HookRegistry, type HookSpec, type PolicyUnit } from '@syrup/core';
import { RuntimeError } from '../../errors/runtime-error.js';

/**
 * Has the hook's backend generate code from the unit's IR (the front end ran once, in the
 * compile worker, to make the unit) and asks the artifact for a listing
 * (`Backend.describe`), without loading or attaching anything. The target matters only to
 * hooks whose code depends on it (the XDP port filter). Listing needs no device, so a hook whose
 * probe says it cannot run here (xdp-offload without its NIC) is listed too.
 */
export async function describePolicy(registry: HookRegistry, unit: PolicyUnit, hook: HookId, target?: DeployTarget): Promise<readonly string[]> {
  const { backend, spec } = await describerFor(registry, hook);
  if (!spec.inputs.includes(unit.manifest.input)) {
    throw new RuntimeError('INVALID_ARGUMENT', `policy '${unit.manifest.name}' takes '${unit.manifest.input}' inputs, but hook '${hook}' accepts only ${spec.inputs.join(', ')}.`);
  }
  if (backend.describe === undefined) {
    throw new RuntimeError('DISASM_UNSUPPORTED', `backend '${backend.name}' of hook '${hook}' cannot list the code it generates.`);
  }
  const artifact = await backend.compile({ policy: unit.manifest, ir: unit.ir, hook: spec, ...(unit.source !== undefined ? { source: unit.source } : {}), ...(target !== undefined ? { target } : {}) });
  return backend.describe(artifact);
}

/** The hook's backend as `backendFor` picks it, or, when none can run it here, the first that declares it. */
async function describerFor(registry: HookRegistry, hook: HookId): Promise<{ backend: Backend; spec: HookSpec }> {
  try {
    return await registry.backendFor(hook);
  } catch (error) {
    if (!(error instanceof HookUnavailableError)) throw error;
    for (const { backend, refused } of registry.backends()) {
      const spec = refused === undefined ? backend.hooks.find((h) => h.id === hook) : undefined;
      if (spec !== undefined) return { backend, spec };
    }
    throw error;
  }
}
