import { isRefusal } from '@syrup/core';
import type { DependencyContainer } from 'tsyringe';
import type { BackendPackageState } from '../protocol/daemon-backends.js';
import { BackendLoadError } from './backend-load-error.js';
import { loadBackendPackage, type LoadOptions } from './load-backend-package.js';

/** What loading one package came to, before the registry has looked at its backends. */
export interface BackendLoadOutcome {
  readonly spec: string;
  readonly state: Exclude<BackendPackageState, 'refused'>;
  readonly reason?: string;
  /** The reason without the package's name and place, for a hook listing that names the package already. */
  readonly detail?: string;
  /** Its package.json name and directory, once found. */
  readonly name?: string;
  readonly path?: string;
  readonly backendCount?: number;
}

/** The state each BackendLoadError code stands for. */
const STATE_OF_CODE: Readonly<Record<string, BackendLoadOutcome['state']>> = {
  BACKEND_NOT_FOUND: 'not-found',
  BACKEND_NO_REGISTER: 'not-a-backend',
};

/**
 * Loads each package in order into `container` (syrupd's `--backend`, the CLI's `syrup
 * check`); a package that does not load is an outcome with its reason, never a stop: the
 * caller serves with the others. The same spec twice loads once. Which packages to load when
 * none is named is the caller's choice (the daemon's project backends, the installed ones).
 */
export async function loadBackends(specs: readonly string[], container: DependencyContainer, options: LoadOptions): Promise<readonly BackendLoadOutcome[]> {
  const outcomes: BackendLoadOutcome[] = [];
  for (const spec of new Set(specs)) {
    try {
      const loaded = await loadBackendPackage(spec, container, options);
      outcomes.push({ spec, state: 'loaded', name: loaded.name, path: loaded.dir, backendCount: loaded.backendCount });
    } catch (error) {
      const code = isRefusal(error) ? error.code : '';
      const reason = error instanceof Error ? error.message : String(error);
      const found = error instanceof BackendLoadError ? error.found : undefined;
      outcomes.push({
        spec,
        state: STATE_OF_CODE[code] ?? 'failed',
        reason,
        detail: error instanceof BackendLoadError ? error.detail : reason.replace(/\.$/, ''),
        ...(found !== undefined ? { name: found.name, path: found.dir } : {}),
      });
    }
  }
  return outcomes;
}
