import { randomUUID } from 'node:crypto';
import {
  crashPoint,
  DeployService,
  HookRegistry,
  ManagedDeployment,
  type DeployOptions,
  type DeployTarget,
  type DeploymentInfo,
  type HookAvailability,
  type PolicySource,
  type PolicyUnit,
  type TargetClaim,
} from '@syrup/core';
import { DataMapProvider, InMemoryDataMapProvider, type DataMap, type DataMapSpec, type PerCpuDataMap } from '@syrup/maps';
import { inject, injectable, injectAll } from 'tsyringe';
import { RuntimeError } from '../errors/runtime-error.js';
import type { ServiceStage } from '../protocol/protocol-schema.js';
import { BackendTurns } from './compile/backend-turns.js';
import { describePolicy } from './compile/describe-policy.js';
import { PolicyCompiler, type CompileOptions } from './compile/policy-compiler.js';
import { mapMemoryBytes } from './limits/map-memory.js';
import { chooseSharedMapProvider, SharedMapRegistry } from './shared-maps.js';
import { TenantAdmission, type TenantUsage } from './limits/tenant-admission.js';
import { TargetOwnership, type HeldClaim } from './ownership/target-ownership.js';
import { DeploymentPersistence, type RecoveryReport } from '../persistence/deployment-persistence.js';
import { RuntimePersistenceOptions } from '../persistence/runtime-persistence-options.js';

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
  /** Each map's declared shape, by name (what a client's typed map view needs). */
  readonly mapSpecs: Readonly<Record<string, DataMapSpec>>;
  /** The maps it shares with its owner's other deployments (`shareMaps`); absent when none. */
  readonly sharedMaps?: readonly string[];
}

/** A map value: a bigint, or one per CPU for a per-CPU map. */
export type MapValue = bigint | readonly bigint[];

/** What a watcher of a deployment hears: a replace (with the new info), or its end and why. */
export type DeploymentEvent =
  | { readonly event: 'replaced'; readonly info: RuntimeDeploymentInfo }
  | { readonly event: 'undeployed'; readonly reason: 'undeployed' | 'target-exited' };

interface Entry {
  readonly deployment: ManagedDeployment;
  readonly owner: number;
  /** Names of the maps it shares with its owner's other deployments. */
  readonly shared: readonly string[];
  /** What its target holds (ownership/target-ownership.ts); filled in after recovery for a recovered one. */
  claims: readonly TargetClaim[];
}

/**
 * The deploy service behind `embedded()` and syrupd. It only ever sees policy text (the
 * client reads files), runs core's front end on it once per deploy or replace (in the compile
 * worker) and hands the IR to the backend, drives each deployment
 * through the container's hook registry, and remembers who owns it so that another non-root
 * caller cannot replace, undeploy or touch its maps.
 */
@injectable()
export class RuntimeService implements DeployService {
  readonly #entries = new Map<string, Entry>();
  readonly #ownership = new TargetOwnership();
  /** Data maps shared by name within each tenant (`shareMaps`), across hooks. */
  readonly #shared = new SharedMapRegistry();
  /** Pins and the state file (persistence/), when configured: deployments then survive a restart of this process. */
  readonly #persistence: DeploymentPersistence | undefined;
  /** Where shared maps come from (see `chooseSharedMapProvider`); memory when the container registers none. */
  readonly #sharedMapProvider: DataMapProvider;
  /**
   * Turns at the backend (code generation, the verifier, the attach), per uid round robin and
   * a few at once (compile/backend-turns.ts): the backend loads off the event loop, and these
   * keep one tenant's verifier-bound policies from taking every pool thread or every turn.
   */
  readonly #turns = new BackendTurns();
  #closed = false;

  constructor(
    @inject(HookRegistry) private readonly registry: HookRegistry,
    // Untrusted source compiles in a worker with the tenant's timeout (compile/policy-compiler.ts).
    @inject(PolicyCompiler) private readonly compiler: PolicyCompiler,
    // Per-tenant deployment and map-memory limits (limits/tenant-admission.ts).
    @inject(TenantAdmission) private readonly admission: TenantAdmission,
    @inject(RuntimePersistenceOptions, { isOptional: true }) persistence?: RuntimePersistenceOptions,
    // The data-map providers backends and core registered (kernel maps, memory).
    @injectAll(DataMapProvider, { isOptional: true }) providers?: DataMapProvider[],
  ) {
    this.#persistence = persistence === undefined ? undefined : new DeploymentPersistence(persistence);
    this.#sharedMapProvider = chooseSharedMapProvider(providers ?? []) ?? new InMemoryDataMapProvider();
  }

  /**
   * `onStage` hears each stage as it starts (the CLI's progress display, through the protocol).
   * Aborting `signal` (the protocol server does when the connection closes) withdraws the
   * deploy if its policy has not finished compiling by then: a client that leaves that early
   * gets nothing attached, and its compile stops taking the worker's time.
   */
  async deploy(
    policy: string | PolicySource,
    options: DeployOptions,
    caller: Caller = EMBEDDED_CALLER,
    onStage?: (stage: ServiceStage) => void,
    signal?: AbortSignal,
  ): Promise<ManagedDeployment> {
    this.#open();
    onStage?.('compile');
    const unit = await this.#unit(policy, options.params, caller, signal);
    const shareMaps = [...new Set(options.shareMaps ?? [])];
    // Deploys that share maps run one at a time per tenant: looking up, creating and registering a shared map is one step.
    if (shareMaps.length === 0) return this.#deployUnit(unit, options, [], caller, onStage, signal);
    return this.#shared.exclusive(caller.uid, () => this.#deployUnit(unit, options, shareMaps, caller, onStage, signal));
  }

  async #deployUnit(
    unit: PolicyUnit,
    options: DeployOptions,
    shareMaps: readonly string[],
    caller: Caller,
    onStage?: (stage: ServiceStage) => void,
    signal?: AbortSignal,
  ): Promise<ManagedDeployment> {
    this.#open();
    // Maps already shared are the tenant's already: refused on a shape mismatch, and not counted again.
    using plan = this.#shared.plan(caller.uid, unit.manifest, shareMaps);
    // Reserved until this call ends, by which time the deployment is registered or has failed.
    using _admission = this.admission.admit(caller.uid, { name: unit.manifest.name, maps: without(unit.manifest.maps, plan.borrowed.keys()) }, this.#usage(caller.uid), 'deploy');
    // Asking the registry first gives NoBackendError's sentence before any ownership check.
    const { spec, backend } = await this.registry.backendFor(options.hook);
    // A tenant deploys only on targets it owns (ownership/target-ownership.ts); the backend may fill the target in (a port's owner pid).
    const { target, claims } = await this.#ownership.authorize({ hook: spec, target: targetOf(options), input: unit.manifest.input, caller }, backend, this.#heldClaims());
    // Every deployment sharing a map gets it from the registry, the first one too: one provider, whatever the deploy order.
    const sharedMaps = plan.create(this.#sharedMapProvider);
    // The id, the directories and the intent come before the attach (see DeploymentPersistence): a crash from here on is rolled back at the next start.
    const id = randomUUID();
    const owner = { uid: caller.uid, gid: caller.gid ?? 0 };
    const location = this.#persistence?.begin({ op: 'deploy', id, hook: options.hook, target, owner });
    const managed = new ManagedDeployment(this.registry, unit, {
      hook: options.hook,
      target,
      id,
      ...(sharedMaps.size === 0 ? {} : { sharedMaps }),
      ...(location === undefined ? {} : { location }),
    });
    if (onStage !== undefined) managed.once('will-attach', () => onStage('attach'));
    let deployment: ManagedDeployment;
    try {
      deployment = await this.#turn(caller, () => managed.start(), signal);
    } catch (error) {
      // Nothing stays attached after a failed or withdrawn start: the intent and directories go.
      this.#persistence?.cancel(id);
      throw error;
    }
    crashPoint('deploy-after-attach');
    try {
      const diverged = this.#shared.register(caller.uid, deployment.id, shareMaps, deployment.attachment?.maps ?? new Map());
      if (diverged.length > 0) {
        throw new RuntimeError(
          'SHARED_MAP_UNSUPPORTED',
          `the backend of hook '${options.hook}' did not use the shared map '${diverged[0]}' it was given, so policy '${unit.manifest.name}' cannot share it.`,
        );
      }
    } catch (error) {
      await deployment.undeploy();
      this.#persistence?.cancel(id);
      throw error;
    }
    this.#adopted(deployment, caller.uid, shareMaps, claims);
    await this.#persist(deployment, owner, unit, options.params, shareMaps);
    return deployment;
  }

  /** Registers a running deployment; when it ends (undeploy, target exit) it leaves the registry, the state file and its shared maps. */
  #adopted(deployment: ManagedDeployment, owner: number, shared: readonly string[], claims: readonly TargetClaim[]): void {
    this.#entries.set(deployment.id, { deployment, owner, shared, claims });
    deployment.once('undeployed', () => {
      this.#entries.delete(deployment.id);
      this.#shared.release(owner, deployment.id, shared);
      this.#persistence?.ended(deployment.id);
    });
  }

  /**
   * With persistence: rebuilds the deployments the state file records, under their old ids,
   * and follows their targets again; those whose target exited meanwhile are removed with
   * their pins. Call once, before serving. Without persistence there is nothing to recover.
   */
  async recover(): Promise<RecoveryReport> {
    this.#open();
    if (this.#persistence === undefined) return { restored: [], dropped: [] };
    const report = await this.#persistence.recover(this.registry, {
      // A record without an IR (written before the IR was recorded) compiles in the worker, with its owner's time limit.
      compile: (source, params, owner) => this.compiler.compile(source, params, { uid: owner.uid, timeoutMs: this.admission.limitsFor(owner.uid).compileTimeoutMs }),
      // Deployments at userspace hooks are restored after those whose maps live in the kernel, with the shared maps those brought back.
      sharedMapsFor: (record) => this.#shared.mapsOf(record.owner.uid, record.sharedMaps ?? []),
      adopt: (deployment, owner, record) => {
        // Shared maps are joined again by the stores' identities (a kernel map's id): two
        // deployments whose restored maps are the same map share it again, as before the restart.
        const names = record.sharedMaps ?? [];
        const diverged = this.#shared.register(owner.uid, deployment.id, names, deployment.attachment?.maps ?? new Map());
        this.#adopted(deployment, owner.uid, names.filter((n) => !diverged.includes(n)), []);
      },
    });
    // The claims of a recovered deployment are its target's again, as its backend describes them now.
    for (const entry of this.#entries.values()) {
      const { deployment } = entry;
      try {
        const { backend, spec } = await this.registry.backendFor(deployment.hook);
        entry.claims = backend.claims?.({ hook: spec, target: deployment.target, input: deployment.policy.input }) ?? [];
      } catch {
        // Its backend is gone or unavailable: the deployment is restored already, and holds nothing new.
      }
    }
    return report;
  }

  /** Every claim of a live deployment, with its owner. */
  #heldClaims(): HeldClaim[] {
    return [...this.#entries.values()].flatMap((entry) => entry.claims.map((claim) => ({ claim, owner: entry.owner })));
  }

  /** Pins and records a deployment (after deploy and replace); one that cannot be recorded is undeployed and the error thrown. */
  async #persist(
    deployment: ManagedDeployment,
    owner: { uid: number; gid: number } | undefined,
    unit: PolicyUnit,
    params: DeployOptions['params'],
    sharedMaps?: readonly string[],
  ): Promise<void> {
    try {
      this.#persistence?.persist({ deployment, owner, source: unit.source, ir: unit.ir, params, ...(sharedMaps === undefined || sharedMaps.length === 0 ? {} : { sharedMaps }) });
    } catch (error) {
      await deployment.undeploy();
      throw error;
    }
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

  async replace(
    id: string,
    policy: PolicySource,
    caller: Caller = EMBEDDED_CALLER,
    params?: DeployOptions['params'],
    onStage?: (stage: ServiceStage) => void,
    // As for deploy: withdraws the replace until the new policy has compiled.
    signal?: AbortSignal,
  ): Promise<RuntimeDeploymentInfo> {
    const entry = this.#owned(id, caller, 'replace');
    onStage?.('compile');
    const unit = await this.#unit(policy, params, caller, signal);
    this.#shared.checkReplace(entry.owner, id, unit.manifest, entry.shared);
    using _admission = this.admission.admit(caller.uid, { name: unit.manifest.name, maps: without(unit.manifest.maps, entry.shared) }, this.#usage(caller.uid, id), 'replace');
    onStage?.('swap');
    const deployment = entry.deployment;
    const intent = { id, hook: deployment.hook, target: deployment.target, owner: { uid: entry.owner, gid: 0 } };
    this.#persistence?.begin({ op: 'replace', ...intent });
    try {
      await this.#turn(caller, () => deployment.replace(unit), signal);
    } catch (error) {
      // The old policy stays (ManagedDeployment.replace): nothing to finish.
      this.#persistence?.cancel(id);
      throw error;
    }
    crashPoint('replace-after-swap');
    await this.#persist(deployment, undefined, unit, params);
    return infoOf(entry);
  }

  async undeploy(id: string, caller: Caller = EMBEDDED_CALLER): Promise<void> {
    const entry = this.#owned(id, caller, 'undeploy');
    const deployment = entry.deployment;
    // Recorded, it is undone under an intent: a crash before its record goes is finished at the next start.
    this.#persistence?.begin({ op: 'undeploy', id, hook: deployment.hook, target: deployment.target, owner: { uid: entry.owner, gid: 0 } });
    await deployment.undeploy();
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

  /** Removes the key and says whether it was present; array maps refuse (MAP_DELETE_UNSUPPORTED). */
  async mapDelete(id: string, map: string, key: number, caller: Caller = EMBEDDED_CALLER): Promise<boolean> {
    return this.#map(id, map, caller).delete(checkKey(key));
  }

  /** Atomically adds `delta` to the key's value and returns the old one; MapError MAP_NOT_ATOMIC where the map cannot. */
  async mapFetchAdd(id: string, map: string, key: number, delta: bigint, caller: Caller = EMBEDDED_CALLER): Promise<bigint> {
    const target = this.#map(id, map, caller);
    return target.fetchAdd(checkKey(key), delta);
  }

  /** Atomically stores `desired` if the key holds `expected`; returns the old value either way. MapError MAP_NOT_ATOMIC where the map cannot. */
  async mapCompareExchange(id: string, map: string, key: number, expected: bigint, desired: bigint, caller: Caller = EMBEDDED_CALLER): Promise<bigint> {
    const target = this.#map(id, map, caller);
    return target.compareExchange(checkKey(key), expected, desired);
  }

  /**
   * Calls `listener` on each replace of deployment `id` and once when it ends (undeployed by
   * anyone, or its target exited), after which the watch is over. Owner or root only. Returns
   * the function that stops watching earlier.
   */
  watch(id: string, caller: Caller, listener: (event: DeploymentEvent) => void): () => void {
    const entry = this.#owned(id, caller, 'watch');
    const deployment = entry.deployment;
    let targetExited = false;
    const onTargetExit = (): void => {
      targetExited = true;
    };
    const onReplaced = (): void => listener({ event: 'replaced', info: infoOf(entry) });
    const onUndeployed = (): void => {
      stop();
      listener({ event: 'undeployed', reason: targetExited ? 'target-exited' : 'undeployed' });
    };
    const stop = (): void => {
      deployment.off('target-exited', onTargetExit);
      deployment.off('replaced', onReplaced);
      deployment.off('undeployed', onUndeployed);
    };
    deployment.on('target-exited', onTargetExit);
    deployment.on('replaced', onReplaced);
    deployment.on('undeployed', onUndeployed);
    return stop;
  }

  async mapDump(id: string, map: string, caller: Caller = EMBEDDED_CALLER): Promise<[number, MapValue][]> {
    const entries: [number, MapValue][] = [];
    for await (const entry of this.#map(id, map, caller).entries()) entries.push(entry);
    return entries;
  }

  /**
   * The code `hook`'s backend generates for a policy, as text lines (the `disasm` op): the
   * policy is compiled with the caller's limits, nothing is loaded or attached. Aborting
   * `signal` withdraws it, as for deploy.
   */
  async disasm(
    policy: string | PolicySource,
    hook: DeployOptions['hook'],
    options: { params?: DeployOptions['params']; target?: DeployTarget } = {},
    caller: Caller = EMBEDDED_CALLER,
    signal?: AbortSignal,
  ): Promise<readonly string[]> {
    this.#open();
    const unit = await this.#unit(policy, options.params, caller, signal);
    return this.#turn(caller, () => describePolicy(this.registry, unit, hook, options.target), signal);
  }

  /**
   * Shutdown; later deploys are refused. Deployments the state file records are released
   * (they stay attached and pinned: they belong to their targets, and `recover()` finds them
   * again); the others are undeployed. Failures do not stop the rest.
   */
  async close(): Promise<void> {
    this.#closed = true;
    await this.compiler.close();
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.allSettled(entries.map((e) => this.#stop(e.deployment)));
    this.#shared.close();
  }

  /** Releases a recorded deployment (kept in the kernel), undeploys any other. */
  async #stop(deployment: ManagedDeployment): Promise<void> {
    if (this.#persistence?.has(deployment.id) && (await deployment.release())) return;
    await deployment.undeploy();
  }

  /**
   * Runs the front end once, in the compile worker within the caller's compile-time and
   * queued-compile limits, in the caller's turn: the unit's IR is what the backend generates
   * code from, so no backend parses the text again. A `signal` aborted by the time the compile
   * ends withdraws the request here too, before any backend work (code generation, the verifier).
   */
  async #unit(policy: string | PolicySource, params: DeployOptions['params'], caller: Caller, signal: AbortSignal | undefined): Promise<PolicyUnit> {
    if (typeof policy === 'string') {
      // The service may run as root on behalf of others: it never opens a path a caller names.
      throw new RuntimeError('POLICY_PATH_REFUSED', 'the runtime service takes policy text, not a path; read the file on the client side.');
    }
    const limits = this.admission.limitsFor(caller.uid);
    const options: CompileOptions = { uid: caller.uid, timeoutMs: limits.compileTimeoutMs, maxQueued: limits.maxQueuedCompiles, ...(signal !== undefined ? { signal } : {}) };
    const { ir, manifest } = await this.compiler.compile(policy, params, options);
    if (signal?.aborted === true) throw new RuntimeError('REQUEST_CANCELLED', 'the request was cancelled before its policy was used.', { cause: signal.reason });
    return { manifest, ir, source: policy };
  }

  /**
   * Runs the backend's part of a request in the caller's turn (compile/backend-turns.ts), with
   * the caller's queued-compile limit also bounding its waiting turns; `signal` withdraws it
   * while it waits.
   */
  #turn<T>(caller: Caller, work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    const { maxQueuedCompiles } = this.admission.limitsFor(caller.uid);
    return this.#turns.run(caller.uid, work, { maxQueued: maxQueuedCompiles, ...(signal !== undefined ? { signal } : {}) });
  }

  /** What `uid` holds now (leaving out deployment `except`, which a replace frees). */
  #usage(uid: number, except?: string): TenantUsage {
    let deployments = 0;
    // A shared map counts once for its tenant, however many deployments use it.
    let mapBytes = mapMemoryBytes(this.#shared.specsOf(uid));
    for (const [id, entry] of this.#entries) {
      if (entry.owner !== uid || id === except) continue;
      deployments++;
      mapBytes += mapMemoryBytes(without(entry.deployment.policy.maps, entry.shared));
    }
    return { deployments, mapBytes };
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

function targetOf(options: DeployOptions): DeployTarget {
  const { hook: _hook, params: _params, shareMaps: _shareMaps, ...target } = options;
  return target;
}

/** `maps` without the names in `names`. */
function without(maps: Readonly<Record<string, DataMapSpec>>, names: Iterable<string>): Record<string, DataMapSpec> {
  const left = { ...maps };
  for (const name of names) delete left[name];
  return left;
}

function checkKey(key: number): number {
  if (!Number.isInteger(key) || key < 0 || key > 0xffff_ffff) throw new RuntimeError('INVALID_ARGUMENT', `map key ${String(key)} is not a u32.`);
  return key;
}

function infoOf(entry: Entry): RuntimeDeploymentInfo {
  const { deployment: d, owner } = entry;
  const mapSpecs: Record<string, DataMapSpec> = {};
  for (const [name, map] of Object.entries(d.maps)) mapSpecs[name] = map.spec;
  return {
    id: d.id,
    hook: d.hook,
    policy: d.policy.name,
    state: d.state,
    target: d.target,
    owner,
    maps: Object.keys(d.maps),
    mapSpecs,
    ...(entry.shared.length === 0 ? {} : { sharedMaps: [...entry.shared] }),
  };
}
