import type { DeployTarget, HookId, HookRegistry, PolicyUnit } from '@syrup/core';
import { RuntimeError } from '../../errors/runtime-error.js';

/**
 * Has the hook's backend generate code from the unit's IR (the front end ran once, in the
 * compile worker, to make the unit) and asks the artifact for a listing
 * (`Backend.describe`), without loading or attaching anything. The target matters only to
 * hooks whose code depends on it (the XDP port filter).
 */
export async function describePolicy(registry: HookRegistry, unit: PolicyUnit, hook: HookId, target?: DeployTarget): Promise<readonly string[]> {
  const { backend, spec } = await registry.backendFor(hook);
  if (!spec.inputs.includes(unit.manifest.input)) {
    throw new RuntimeError('INVALID_ARGUMENT', `policy '${unit.manifest.name}' takes '${unit.manifest.input}' inputs, but hook '${hook}' accepts only ${spec.inputs.join(', ')}.`);
  }
  if (backend.describe === undefined) {
    throw new RuntimeError('DISASM_UNSUPPORTED', `backend '${backend.name}' of hook '${hook}' cannot list the code it generates.`);
  }
  const artifact = await backend.compile({ policy: unit.manifest, ir: unit.ir, hook: spec, ...(unit.source !== undefined ? { source: unit.source } : {}), ...(target !== undefined ? { target } : {}) });
  return backend.describe(artifact);
}
