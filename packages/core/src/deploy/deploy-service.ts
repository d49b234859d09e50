import type { DeployTarget, PolicySource } from '../backend/backend.js';
import type { HookAvailability } from '../hook/hook-registry.js';
import type { HookId } from '../hook/hook-spec.js';
import type { PolicyParams } from '../policy/policy-maps.js';
import type { Deployment, DeploymentState } from './deployment.js';

/** Where and how to deploy: the hook, its target, and params that override the policy's. */
export interface DeployOptions extends DeployTarget {
  readonly hook: HookId;
  readonly params?: PolicyParams;
  /**
   * Data maps of the policy to share by name with the caller's other deployments that share
   * the same name, at any hook (cross-layer communication): the first creates the map, later
   * ones get the same map when they declare it with the same shape. Opt-in per name, since
   * two policies' same-named maps (a `next` counter) are usually meant to stay apart.
   */
  readonly shareMaps?: readonly string[];
}

/** A deployment as listed: enough to find it again and to show it. */
export interface DeploymentInfo {
  readonly id: string;
  readonly hook: HookId;
  readonly policy: string;
  readonly state: DeploymentState;
  readonly target: DeployTarget;
}

/**
 * What `embedded()` and the daemon's client `connect()` both offer. A policy is named by a
 * path or package specifier (the client reads it) or passed as text.
 */
export interface DeployService {
  deploy(policy: string | PolicySource, options: DeployOptions): Promise<Deployment>;
  deployments(): Promise<readonly DeploymentInfo[]>;
  hooks(): Promise<readonly HookAvailability[]>;
}

export const DeployService: unique symbol = Symbol.for('@syrup/core.DeployService');
