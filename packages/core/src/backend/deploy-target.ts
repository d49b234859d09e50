import type { DataMapStore } from '@syrup/maps';

// What a backend attaches to and the maps it shares: read by the backend contract (backend.ts)
// and by persistence (persistence.ts), so they live apart from both.

/**
 * Where to attach. Which fields matter depends on the hook (its `HookSpec.target` schema): a
 * socket group is named by `port` (and `protocol`, `pid`), an XDP hook by `interface` (and
 * `queue`, `port`, `extra.netns`...), the thread hook by `pid`. The five fields below travel at
 * the top level of the wire protocol; every other field of a hook's schema travels in `extra`.
 * Backends validate what they need and refuse the rest with one sentence.
 */
export interface DeployTarget {
  readonly port?: number;
  readonly protocol?: 'udp' | 'tcp';
  readonly pid?: number;
  readonly interface?: string;
  readonly queue?: number;
  /** Backend-specific extras (explicit socket fds, CPU lists...). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Data maps a deployment shares with others by name (cross-layer communication). */
export type SharedMaps = ReadonlyMap<string, DataMapStore>;
