import type { DataMapSpec } from '@syrup/maps';
import { inject, injectable } from 'tsyringe';
import { LimitError } from './limit-error.js';
import { mapMemoryBytes } from './map-memory.js';
import { RuntimeLimits, tenantLimits, type TenantLimits } from './runtime-limits.js';

/** What a tenant holds now, as the service counts it from its registered deployments. */
export interface TenantUsage {
  readonly deployments: number;
  readonly mapBytes: number;
}

interface Pending {
  deployments: number;
  mapBytes: number;
}

/**
 * Checks deploys and replaces against the tenant's limits. Between the check and the moment
 * the service registers the deployment there are awaits (backend compile, attach), so each
 * admission reserves what it was granted until it is disposed: two concurrent deploys cannot
 * both take the last slot. The service disposes the admission once the deployment is
 * registered (its own entry counts from then on) or has failed.
 */
@injectable()
export class TenantAdmission {
  readonly #pending = new Map<number, Pending>();

  constructor(@inject(RuntimeLimits, { isOptional: true }) private readonly limits: RuntimeLimits | undefined) {}

  /** The limits that apply to `uid`. */
  limitsFor(uid: number): TenantLimits {
    return tenantLimits(this.limits, uid);
  }

  /**
   * Admits a deployment whose policy declares `maps`, for a tenant that already holds `usage`.
   * For a replace, `usage` leaves out the deployment being replaced and no deployment is added.
   */
  admit(uid: number, policy: { readonly name: string; readonly maps: Readonly<Record<string, DataMapSpec>> }, usage: TenantUsage, kind: 'deploy' | 'replace'): Disposable {
    const limits = this.limitsFor(uid);
    const pending = this.#pending.get(uid) ?? { deployments: 0, mapBytes: 0 };
    const adds = kind === 'deploy' ? 1 : 0;
    if (adds > 0 && usage.deployments + pending.deployments + adds > limits.maxDeployments) {
      throw new LimitError(
        'LIMIT_DEPLOYMENTS',
        `uid ${uid} already has ${usage.deployments + pending.deployments} deployments, and its limit is ${limits.maxDeployments} deployments.`,
        limits.maxDeployments,
      );
    }
    const bytes = mapMemoryBytes(policy.maps);
    const held = usage.mapBytes + pending.mapBytes;
    if (held + bytes > limits.maxMapBytes) {
      throw new LimitError(
        'LIMIT_MAP_MEMORY',
        `policy '${policy.name}' declares ${bytes} bytes of maps and uid ${uid} already holds ${held}, more than its map memory limit of ${limits.maxMapBytes} bytes.`,
        limits.maxMapBytes,
      );
    }
    pending.deployments += adds;
    pending.mapBytes += bytes;
    this.#pending.set(uid, pending);
    let released = false;
    return {
      [Symbol.dispose]: () => {
        if (released) return;
        released = true;
        pending.deployments -= adds;
        pending.mapBytes -= bytes;
        if (pending.deployments === 0 && pending.mapBytes === 0) this.#pending.delete(uid);
      },
    };
  }
}
