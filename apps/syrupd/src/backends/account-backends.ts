import { STANDARD_HOOK_IDS, STANDARD_HOOKS, type HookAvailability, type HookRegistry } from '@syrup/core';
import type { BackendLoadOutcome, BackendPackageStatus, DaemonBackends } from '@syrup/runtime';
import { PROJECT_BACKEND_OF_HOOK } from './project-backends.js';

/**
 * The daemon's account for `status` and `hooks`: each package's outcome, with the backends the
 * registry accepted from it and the refusals of those it did not (a hook id or name already
 * taken), and each standard hook no accepted backend declares, with where it would come from.
 * Backends are matched to packages by registration order, which the registry keeps.
 */
export async function accountBackends(outcomes: readonly BackendLoadOutcome[], registry: HookRegistry): Promise<DaemonBackends> {
  const registrations = [...registry.backends()];
  const expected = outcomes.reduce((sum, o) => sum + (o.backendCount ?? 0), 0);
  const attributable = expected === registrations.length;
  const packages: BackendPackageStatus[] = outcomes.map((o) => {
    const base = { package: o.spec, state: o.state, ...(o.reason !== undefined ? { reason: o.reason } : {}), ...(o.path !== undefined ? { path: o.path } : {}) };
    if (o.state !== 'loaded' || !attributable) return base;
    const own = registrations.splice(0, o.backendCount ?? 0);
    const refusals = own.flatMap((r) => (r.refused === undefined ? [] : [r.refused.message]));
    const backends = own.filter((r) => r.refused === undefined).map((r) => r.backend.name);
    return refusals.length === 0 ? { ...base, backends } : { ...base, state: 'refused' as const, reason: refusals.join(' '), backends };
  });
  if (!attributable) {
    // Registrations made outside a package's register (none today): their refusals still show.
    for (const r of registrations) if (r.refused !== undefined) packages.push({ package: `backend '${r.backend.name}'`, state: 'refused', reason: r.refused.message });
  }
  const declared = new Set((await registry.hooks()).map((h) => h.hook.id));
  const unprovidedHooks = STANDARD_HOOK_IDS.filter((id) => !declared.has(id)).map((id): HookAvailability => {
    const provider = PROJECT_BACKEND_OF_HOOK[id];
    const index = outcomes.findIndex((o) => o.spec === provider || o.name === provider);
    return { hook: STANDARD_HOOKS[id], backend: provider, available: false, reason: `it would come from '${provider}', which ${whyNot(outcomes[index], packages[index])}` };
  });
  return { packages, unprovidedHooks };
}

/** Why a project backend package does not provide its hook, as the end of a sentence. */
function whyNot(outcome: BackendLoadOutcome | undefined, status: BackendPackageStatus | undefined): string {
  if (outcome === undefined || status === undefined) return 'was not asked for (syrupd loads only the --backend packages when any is given).';
  const detail = (status.state === 'refused' ? status.reason?.replace(/\.$/, '') : outcome.detail) ?? 'no reason given';
  switch (status.state) {
    case 'not-found':
      return 'is not installed.';
    case 'not-a-backend':
      return `is not a backend yet (${detail}).`;
    case 'failed':
      return `failed to load (${detail}).`;
    case 'refused':
      return `was refused (${detail}).`;
    case 'loaded':
      return 'is loaded but does not declare this hook.';
  }
}
