import { readFileSync } from 'node:fs';
import {
  compilePolicy,
  DeployService,
  HookRegistry,
  ManagedDeployment,
  type DeployOptions,
  type DeployTarget,
  type DeploymentInfo,
  type HookAvailability,
  type PolicySource,
  type PolicyUnit,
} from '@syrup/core';
import type { DataMap, PerCpuDataMap } from '@syrup/maps';
import { inject, injectable } from 'tsyringe';
import { RuntimeError } from '../errors/runtime-error.js';

/** Who asks: the peer's credentials over the socket, or root in embedded mode. */
export interface Caller {
  readonly uid: number;
  readonly gid?: number;
  readonly pid?: number;
}

/** The caller of an embedded runtime: the process itself, which already holds the privileges. */
export const EMBEDDED_CALLER: Caller = { uid: 0 };

/** A deployment as the runtime lists it: core's info plus its owner. */
export interface RuntimeDeploymentInfo extends DeploymentInfo {
  readonly owner: number;
  readonly maps: readonly string[];
}

/** A map value: a bigint, or one per CPU for a per-CPU map. */
export type MapValue = bigint | readonly bigint[];

interface Entry {
  readonly deployment: ManagedDeployment;
  readonly owner: number;
}

/**
 * The deploy service behind `embedded()` and syrupd. It only ever sees policy text (the
 * client reads files), compiles the manifest with core's front end, drives each deployment
 * through the container's hook registry, and remembers who owns it so that another non-root
 * caller cannot replace, undeploy or touch its maps.
 */
@injectable()
export class RuntimeService implements DeployService {
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(@inject(HookRegistry) private readonly registry: HookRegistry) {}

  async deploy(policy: string | PolicySource, options: DeployOptions, caller: Caller = EMBEDDED_CALLER): Promise<ManagedDeployment> {
    this.#open();
    const unit = policyUnit(policy, options.params);
    const target = targetOf(options);
    checkTargetOwner(target, caller);
    // Asking the registry first gives NoBackendError's sentence before any compile work.
    await this.registry.backendFor(options.hook);
    const deployment = await new ManagedDeployment(this.registry, unit, { hook: options.hook, target }).start();
    this.#entries.set(deployment.id, { deployment, owner: caller.uid });
    deployment.once('undeployed', () => this.#entries.delete(deployment.id));
    return deployment;
  }

  async deployments(caller?: Caller): Promise<readonly RuntimeDeploymentInfo[]> {
    const all = [...this.#entries.values()].map(infoOf);
    // Root and embedded callers see everything; a tenant sees its own deployments.
    return caller === undefined || caller.uid === 0 ? all : all.filter((d) => d.owner === caller.uid);
  }

  hooks(): Promise<readonly HookAvailability[]> {
    return this.registry.hooks();
  }

  /** The deployment with `id`, readable by its owner and root. */
  get(id: string, caller: Caller = EMBEDDED_CALLER): ManagedDeployment {
    return this.#owned(id, caller, 'read').deployment;
  }

  info(id: string, caller: Caller = EMBEDDED_CALLER): RuntimeDeploymentInfo {
    return infoOf(this.#owned(id, caller, 'read'));
  }

  async replace(id: string, policy: PolicySource, caller: Caller = EMBEDDED_CALLER, params?: DeployOptions['params']): Promise<RuntimeDeploymentInfo> {
    const entry = this.#owned(id, caller, 'replace');
    await entry.deployment.replace(policyUnit(policy, params));
    return infoOf(entry);
  }

  async undeploy(id: string, caller: Caller = EMBEDDED_CALLER): Promise<void> {
    const entry = this.#owned(id, caller, 'undeploy');
    await entry.deployment.undeploy();
    this.#entries.delete(id);
  }

  async mapGet(id: string, map: string, key: number, caller: Caller = EMBEDDED_CALLER): Promise<MapValue> {
    return this.#map(id, map, caller).get(checkKey(key));
  }

  async mapSet(id: string, map: string, key: number, value: MapValue, caller: Caller = EMBEDDED_CALLER): Promise<void> {
    const target = this.#map(id, map, caller);
    const perCpu = target.spec.kind === 'percpu-array';
    if (perCpu !== Array.isArray(value)) {
      throw new RuntimeError('INVALID_ARGUMENT', `map '${map}' is ${perCpu ? 'per-CPU and takes one value per CPU' : 'not per-CPU and takes one value'}.`);
    }
    await (target as DataMap<MapValue>).set(checkKey(key), value);
  }

  async mapDump(id: string, map: string, caller: Caller = EMBEDDED_CALLER): Promise<[number, MapValue][]> {
    const entries: [number, MapValue][] = [];
    for await (const entry of this.#map(id, map, caller).entries()) entries.push(entry);
    return entries;
  }

  /** Undeploys everything (shutdown); later deploys are refused. Failures do not stop the rest. */
  async close(): Promise<void> {
    this.#closed = true;
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map((e) => e.deployment.undeploy()));
  }

  #open(): void {
    if (this.#closed) throw new RuntimeError('SERVICE_CLOSED', 'the runtime service is shut down and accepts no new deployments.');
  }

  #owned(id: string, caller: Caller, operation: string): Entry {
    const entry = this.#entries.get(id);
    if (entry === undefined) throw new RuntimeError('DEPLOYMENT_NOT_FOUND', `no deployment has id '${id}'.`);
    if (caller.uid !== 0 && caller.uid !== entry.owner) {
      throw new RuntimeError('NOT_OWNER', `deployment '${id}' belongs to uid ${entry.owner}, so uid ${caller.uid} may not ${operation} it.`);
    }
    return entry;
  }

  #map(id: string, map: string, caller: Caller): DataMap | PerCpuDataMap {
    const deployment = this.#owned(id, caller, 'use the maps of').deployment;
    const found = Object.hasOwn(deployment.maps, map) ? deployment.maps[map] : undefined;
    if (found === undefined) {
      const names = Object.keys(deployment.maps);
      throw new RuntimeError('MAP_NOT_FOUND', `deployment '${id}' has no map '${map}'${names.length > 0 ? ` (it has ${names.join(', ')})` : ''}.`);
    }
    return found;
  }
}

function policyUnit(policy: string | PolicySource, params: DeployOptions['params']): PolicyUnit {
  if (typeof policy === 'string') {
    // The service may run as root on behalf of others: it never opens a path a caller names.
    throw new RuntimeError('POLICY_PATH_REFUSED', 'the runtime service takes policy text, not a path; read the file on the client side.');
  }
  const { manifest } = compilePolicy(policy, params === undefined ? {} : { params });
  return { manifest, source: policy };
}

function targetOf(options: DeployOptions): DeployTarget {
  const { hook: _hook, params: _params, ...target } = options;
  return target;
}

/**
 * A tenant may deploy only on a process of its own uid (DESIGN.md: a deployment belongs to
 * its target). The daemon runs as root and would otherwise take any process's sockets, so a
 * non-root caller must name the process, and that process's real uid must be the caller's.
 * (Following the target with pidfds, and finding it by port, are later work.)
 */
function checkTargetOwner(target: DeployTarget, caller: Caller): void {
  if (caller.uid === 0) return;
  if (target.pid === undefined) {
    throw new RuntimeError('NOT_OWNER', `uid ${caller.uid} must name its target process with pid; only root may deploy by port alone.`);
  }
  let owner: number | undefined;
  try {
    const status = readFileSync(`/proc/${target.pid}/status`, 'utf8');
    owner = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  } catch {
    throw new RuntimeError('INVALID_ARGUMENT', `no process has pid ${target.pid}.`);
  }
  if (owner !== caller.uid) {
    throw new RuntimeError('NOT_OWNER', `process ${target.pid} belongs to uid ${owner}, so uid ${caller.uid} may not deploy on its sockets.`);
  }
}

function checkKey(key: number): number {
  if (!Number.isInteger(key) || key < 0 || key > 0xffff_ffff) throw new RuntimeError('INVALID_ARGUMENT', `map key ${String(key)} is not a u32.`);
  return key;
}

function infoOf(entry: Entry): RuntimeDeploymentInfo {
  const { deployment: d, owner } = entry;
  return { id: d.id, hook: d.hook, policy: d.policy.name, state: d.state, target: d.target, owner, maps: Object.keys(d.maps) };
}
