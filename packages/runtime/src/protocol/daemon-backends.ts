import type { HookAvailability } from '@syrup/core';

/**
 * What became of one backend package the daemon was asked to load: `loaded`; `not-found` (no
 * such package where the daemon looked); `failed` (importing it or its `register` threw);
 * `not-a-backend` (it exports no `register(container)`); `refused` (the hook registry refused a
 * backend it registered: a hook id or name already taken).
 */
export type BackendPackageState = 'loaded' | 'not-found' | 'failed' | 'not-a-backend' | 'refused';

export interface BackendPackageStatus {
  /** As the daemon was given it: a package name or a package directory path. */
  readonly package: string;
  readonly state: BackendPackageState;
  /** One sentence saying why, unless `loaded`. */
  readonly reason?: string;
  /** The package directory it was loaded from, when found. */
  readonly path?: string;
  /** The names of the backends it registered that the registry accepted. */
  readonly backends?: readonly string[];
}

/**
 * The daemon's account of its backends, for `status` and `hooks` (registered under the
 * {@link DaemonBackends} token by the daemon; an embedded runtime has none). The runtime only
 * passes it on: which packages exist is the daemon's business.
 */
export interface DaemonBackends {
  /** Every package the daemon tried, in order. */
  readonly packages: readonly BackendPackageStatus[];
  /** Hooks no accepted backend declares that users may expect (the standard ones), each unavailable with why. */
  readonly unprovidedHooks: readonly HookAvailability[];
}

export const DaemonBackends: unique symbol = Symbol.for('@syrup/runtime.DaemonBackends');
