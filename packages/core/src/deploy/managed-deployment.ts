import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import { dataMapOf, type DataMap, type PerCpuDataMap } from '@syrup/maps';
import type { Artifact, Attachment, Backend, DeployTarget, SharedMaps } from '../backend/backend.js';
import type { PersistenceLocation } from '../backend/persistence.js';
import { DeploymentError, isRefusal, type SyrupError } from '../errors/syrup-error.js';
import type { HookRegistry } from '../hook/hook-registry.js';
import type { HookId, HookSpec } from '../hook/hook-spec.js';
import { verifyPolicyIr } from '../ir/verify-policy-ir.js';
import type { PolicyManifest } from '../policy/define-policy.js';
import type { Deployment, DeploymentEvents, DeploymentState, PolicyUnit } from './deployment.js';

/**
 * Drives one deployment through a backend: probe (through the registry), compile, attach,
 * replace, undeploy, emitting the lifecycle events in order. "Compile" is the backend's code
 * generation from the unit's IR; the front end already ran when the unit was made. Listeners
 * can subscribe before `start()`, so they see every event.
 */
export class ManagedDeployment extends EventEmitter<DeploymentEvents> implements Deployment {
  readonly id: string;
  readonly hook: HookId;
  readonly target: DeployTarget;
  #policy: PolicyManifest;
  #unit: PolicyUnit;
  #state: DeploymentState = 'pending';
  #attachment: Attachment | undefined;
  #backend: { backend: Backend; spec: HookSpec } | undefined;
  #maps: Record<string, DataMap | PerCpuDataMap> = {};
  /** The target exited during a replace; the deployment undeploys once the replace ends. */
  #targetGone = false;
  /** Maps other deployments made, handed to the backend at attach (AttachRequest.sharedMaps). */
  readonly #sharedMaps: SharedMaps | undefined;
  /** Where the runtime will persist it, handed to the backend at attach (AttachRequest.location). */
  readonly #location: PersistenceLocation | undefined;

  constructor(
    private readonly registry: HookRegistry,
    unit: PolicyUnit,
    options: { hook: HookId; target: DeployTarget; id?: string; sharedMaps?: SharedMaps; location?: PersistenceLocation },
  ) {
    super();
    // A deployment recovered after a daemon restart keeps the id it was given at deploy time.
    this.id = options.id ?? randomUUID();
    this.#unit = unit;
    this.#policy = unit.manifest;
    this.hook = options.hook;
    this.target = options.target;
    this.#sharedMaps = options.sharedMaps;
    this.#location = options.location;
  }

  get state(): DeploymentState {
    return this.#state;
  }

  get policy(): PolicyManifest {
    return this.#policy;
  }

  get maps(): Readonly<Record<string, DataMap | PerCpuDataMap>> {
    return this.#maps;
  }

  /** The live attachment while there is one: for the runtime's persistence (persist, release). */
  get attachment(): Attachment | undefined {
    return this.#attachment;
  }

  /**
   * Takes over an attachment that already runs (one a backend restored from its pins) instead
   * of compiling and attaching: `pending -> attaching -> active`, with the usual events except
   * the compile ones, and the target watch subscribed as after `start()`.
   */
  async adopt(attachment: Attachment): Promise<this> {
    this.#expect('adopt an attachment into', ['pending']);
    try {
      this.#backend = await this.registry.backendFor(this.hook);
    } catch (error) {
      this.#setState('failed');
      throw asSyrupError(error, `adopting the restored policy '${this.#policy.name}' at hook '${this.hook}' failed`);
    }
    this.#setState('attaching');
    this.emit('will-attach');
    this.#attachment = attachment;
    this.#maps = mapsOf(attachment);
    this.#setState('active');
    this.emit('attached');
    attachment.onTargetExit?.(() => this.#targetExited());
    return this;
  }

  /**
   * Ends this object's hold on the deployment without undeploying it: the attachment lets go
   * of its handles and leaves its kernel objects attached and pinned (`Attachment.release`).
   * False, with nothing done, when the attachment cannot do that. The state becomes
   * `undeployed` for this process; the deployment lives on in the kernel.
   */
  async release(): Promise<boolean> {
    const attachment = this.#attachment;
    if (this.#state !== 'active' || attachment?.release === undefined) return false;
    await attachment.release();
    this.#attachment = undefined;
    this.#maps = {};
    this.#setState('undeployed');
    return true;
  }

  /** Compiles and attaches. On failure nothing stays attached and the state is `failed`. */
  async start(): Promise<this> {
    this.#expect('start', ['pending']);
    try {
      this.#backend = await this.registry.backendFor(this.hook);
      const artifact = await this.#compile(this.#unit, 'compiling');
      this.#setState('attaching');
      this.emit('will-attach');
      this.#attachment = await this.#backend.backend.attach({
        artifact,
        target: this.target,
        deployment: this.id,
        ...(this.#sharedMaps === undefined || this.#sharedMaps.size === 0 ? {} : { sharedMaps: this.#sharedMaps }),
        ...(this.#location === undefined ? {} : { location: this.#location }),
      });
      this.#maps = mapsOf(this.#attachment);
      this.#setState('active');
      this.emit('attached');
      // Subscribed once: replace keeps the attachment object, so the subscription stays valid.
      this.#attachment.onTargetExit?.(() => this.#targetExited());
      return this;
    } catch (error) {
      const failure = asSyrupError(error, `deploying policy '${this.#policy.name}' at hook '${this.hook}' failed`);
      this.#setState('failed');
      this.emit('failed', failure);
      throw failure;
    }
  }

  async replace(unit: PolicyUnit): Promise<void> {
    this.#expect('replace', ['active']);
    const attachment = this.#attachment as Attachment;
    try {
      this.emit('will-replace');
      const artifact = await this.#compile(unit, 'replacing');
      await attachment.replace(artifact);
      this.#unit = unit;
      this.#policy = unit.manifest;
      this.#maps = mapsOf(attachment);
      this.#setState('active');
      this.emit('replaced', artifact);
    } catch (error) {
      this.#setState('active');
      throw asSyrupError(error, `replacing policy '${this.#policy.name}' with '${unit.manifest.name}' failed, so the old policy stays`);
    } finally {
      // The target exited while the replace ran: end now that the deployment is active again.
      if (this.#targetGone) this.#targetExited();
    }
  }

  async undeploy(): Promise<void> {
    if (this.#state === 'undeployed' || this.#state === 'failed' || this.#state === 'undeploying') return;
    this.#expect('undeploy', ['active']);
    this.#setState('undeploying');
    this.emit('will-undeploy');
    try {
      await this.#attachment?.close();
    } finally {
      this.#attachment = undefined;
      this.#maps = {};
      this.#setState('undeployed');
      this.emit('undeployed');
    }
  }

  /**
   * The target process exited: the deployment ends with it, as the "Deploying" rule of
   * docs/architecture.md says, and default scheduling resumes for whoever binds the target
   * next. During a replace the state is not `active`, so it is remembered and handled when the
   * replace ends.
   */
  #targetExited(): void {
    if (this.#state !== 'active') {
      if (this.#state === 'replacing') this.#targetGone = true;
      return;
    }
    this.#targetGone = false;
    this.emit('target-exited');
    // Nobody awaits this undeploy: a failing close still ends in `undeployed` (see undeploy),
    // so the rejection carries nothing a listener would not already see.
    this.undeploy().catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.undeploy();
  }

  async #compile(unit: PolicyUnit, state: 'compiling' | 'replacing'): Promise<Artifact> {
    const { backend, spec } = this.#backend as { backend: Backend; spec: HookSpec };
    if (!spec.inputs.includes(unit.manifest.input)) {
      throw new DeploymentError(
        'DEPLOY_FAILED',
        `policy '${unit.manifest.name}' takes '${unit.manifest.input}' inputs, but hook '${spec.id}' accepts only ${spec.inputs.join(', ')}.`,
      );
    }
    // The backend gets the IR the front end made, checked here rather than trusted: a unit may come from any caller of core.
    if (unit.ir.manifest !== unit.manifest) {
      throw new DeploymentError('DEPLOY_FAILED', `policy '${unit.manifest.name}' was handed over with a manifest that is not its IR's.`);
    }
    verifyPolicyIr(unit.ir);
    this.#setState(state);
    if (state === 'compiling') this.emit('will-compile');
    const artifact = await backend.compile({ policy: unit.manifest, ir: unit.ir, hook: spec, target: this.target, ...(unit.source ? { source: unit.source } : {}) });
    if (state === 'compiling') this.emit('compiled', artifact);
    return artifact;
  }

  #expect(operation: string, states: readonly DeploymentState[]): void {
    if (!states.includes(this.#state)) {
      throw new DeploymentError('DEPLOYMENT_STATE', `cannot ${operation} deployment ${this.id} while it is ${this.#state}.`);
    }
  }

  #setState(to: DeploymentState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.emit('state-changed', to, from);
  }
}

/** Creates and starts a deployment through the registry. */
export async function deployThrough(
  registry: HookRegistry,
  unit: PolicyUnit,
  options: { hook: HookId; target: DeployTarget },
): Promise<ManagedDeployment> {
  return new ManagedDeployment(registry, unit, options).start();
}

function mapsOf(attachment: Attachment): Record<string, DataMap | PerCpuDataMap> {
  const maps: Record<string, DataMap | PerCpuDataMap> = {};
  for (const [name, store] of attachment.maps) maps[name] = dataMapOf(store);
  return maps;
}

/** A refusal passes through with its code; anything else, a LowLevelError included, is reported inside a sentence naming the deployment, and kept as cause. */
function asSyrupError(error: unknown, context: string): SyrupError {
  if (isRefusal(error)) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new DeploymentError('DEPLOY_FAILED', `${context}: ${reason}`, { cause: error });
}
