import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  crashPoint,
  ManagedDeployment,
  policyIrToJson,
  RestoreError,
  isRefusal,
  type Attachment,
  type CompiledPolicy,
  type DeployTarget,
  type HookRegistry,
  type HookSpec,
  type PersistedAttachment,
  type PersistenceLocation,
  type PolicyIr,
  type PolicyParams,
  type PolicySource,
  type PolicyUnit,
  type SharedMaps,
} from '@syrup/core';
import { PersistenceError } from './persistence-error.js';
import { makeTraversableDirectory } from './traversable-directory.js';
import { processStartTime } from './process-start-time.js';
import type { PersistenceLog, RuntimePersistenceOptions } from './runtime-persistence-options.js';
import { paramsFromRecord, paramsToRecord, readStateFile, recordedIr, STATE_FILE_VERSION, writeStateFile, type DeploymentRecord, type IntentRecord } from './state-file.js';

/** The directory under the pin root for objects deployments share (`PersistenceLocation.sharedPinDir`); deployment ids are UUIDs, never this. */
const SHARED_DIR = 'shared';

/** A deployment id as this runtime makes them (`randomUUID`): how a directory under our roots is known to be ours. */
const DEPLOYMENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What an intent names: an operation begun on deployment `id` (see `DeploymentPersistence.begin`). */
export interface IntentRequest {
  readonly op: IntentRecord['op'];
  readonly id: string;
  readonly hook: string;
  readonly target: DeployTarget;
  readonly owner: DeploymentOwner;
}

/** The owner of a deployment as persistence records it. */
export interface DeploymentOwner {
  readonly uid: number;
  readonly gid: number;
}

/** What a deploy or replace hands to persistence. */
export interface PersistRequest {
  readonly deployment: ManagedDeployment;
  /** The owner; for a replace, undefined keeps the recorded one. */
  readonly owner: DeploymentOwner | undefined;
  readonly source: PolicySource | undefined;
  readonly params: PolicyParams | undefined;
  /** The IR the front end made for this deploy or replace: recorded so that recovery need not compile again. */
  readonly ir: PolicyIr;
  /** The maps it shares with its owner's other deployments; for a replace, undefined keeps the recorded ones. */
  readonly sharedMaps?: readonly string[];
}

/** What recovery did with one recorded deployment that it did not restore. */
export interface DroppedDeployment {
  readonly id: string;
  readonly code: string;
  readonly reason: string;
  /** Whether its pins were removed (the target is gone) or left alone (nothing in them was trusted). */
  readonly pinsRemoved: boolean;
}

export interface RecoveryReport {
  readonly restored: readonly string[];
  readonly dropped: readonly DroppedDeployment[];
  /** Operations a crashed daemon left unfinished, and what recovery made of each. */
  readonly intents?: readonly { readonly id: string; readonly op: IntentRecord['op']; readonly outcome: 'rolled-back' | 'restored' | 'completed' }[];
}

/**
 * Runs the front end for a record written without an IR (by a daemon before the IR was
 * recorded): the runtime's compile worker, within the owner's compile-time limit.
 */
export type RecoveryCompile = (source: PolicySource, params: PolicyParams | undefined, owner: DeploymentOwner) => Promise<CompiledPolicy>;

/** What recovery asks of the service for each recorded deployment. */
export interface RecoveryHooks {
  /** The maps the deployment shares that the service holds again (restored by deployments recovered before it). */
  sharedMapsFor(record: DeploymentRecord): SharedMaps | undefined;
  /** Compiles a record that carries no IR (see {@link RecoveryCompile}). */
  compile: RecoveryCompile;
  /** Takes over a restored deployment under its old id. */
  adopt(deployment: ManagedDeployment, owner: DeploymentOwner, record: DeploymentRecord): void;
}

/**
 * The runtime's memory across restarts: per deployment a state directory under the state
 * root (`<stateRoot>/<id>/`, any backend's files) and, with a pin root, a pin directory on
 * bpffs (`<pinRoot>/<id>/`, for backends that pin), both filled by the attachment's `persist`;
 * and one JSON state file naming every persisted deployment with its owner, target process
 * (pid + start time), policy source, params and IR, and its backend's object records (whose
 * identities the backend checks on restore; the runtime never reads them). The state file is
 * the only thing recovery trusts.
 *
 * Crash consistency: every deploy, replace and undeploy of a recorded deployment first writes
 * an intent (`begin`: op, id, hook, target, owner; flushed, file and directory) before the
 * backend touches the kernel, and the write that records the outcome removes it (`persist`,
 * `ended`, `cancel`). A deploy's id and directories are chosen under the intent and handed to
 * the backend at attach, which pins there before it attaches. Recovery finishes or rolls back
 * every intent it finds (see `recover`), so after a crash at any step a target is steered by a
 * recorded deployment or by nothing, and no pin directory is left that the state file does
 * not name.
 */
export class DeploymentPersistence {
  readonly #options: RuntimePersistenceOptions;
  readonly #records = new Map<string, DeploymentRecord>();
  /** Operations under way, by deployment id: written with every state. */
  readonly #intents = new Map<string, IntentRecord>();

  constructor(options: RuntimePersistenceOptions) {
    this.#options = options;
  }

  get pinRoot(): string | undefined {
    return this.#options.pinRoot;
  }

  get stateRoot(): string {
    return this.#options.stateRoot;
  }

  /** Where backends pin what several deployments share (an interface's XDP dispatcher): root-only subdirectories, kept while any deployment uses them. */
  get sharedDir(): string | undefined {
    return this.#options.pinRoot === undefined ? undefined : join(this.#options.pinRoot, SHARED_DIR);
  }

  /** The pin directory of deployment `id`, when there is a pin root. */
  dirOf(id: string): string | undefined {
    return this.#options.pinRoot === undefined ? undefined : join(this.#options.pinRoot, id);
  }

  /** The state directory of deployment `id`. */
  stateDirOf(id: string): string {
    return join(this.#options.stateRoot, id);
  }

  /**
   * Records, durably, that `op` begins on deployment `id`, before anything is attached or
   * detached. A deploy gets its state and pin directories now (returned: the backend pins
   * there before attaching); a replace or undeploy of a deployment that is not recorded
   * records nothing (it ends with this process anyway) and returns undefined.
   */
  begin(request: IntentRequest): PersistenceLocation | undefined {
    if (request.op !== 'deploy' && !this.#records.has(request.id)) return undefined;
    const location = request.op === 'deploy' ? this.#makeLocation(request.id, request.owner) : undefined;
    const owner = this.#records.get(request.id)?.owner ?? request.owner;
    this.#intents.set(request.id, {
      op: request.op,
      id: request.id,
      hook: request.hook,
      owner: { uid: owner.uid, gid: owner.gid },
      target: jsonTarget(request.target),
    });
    try {
      this.#write();
    } catch (error) {
      // Not on disk, so not begun: nothing of it may stay.
      this.#intents.delete(request.id);
      if (request.op === 'deploy') this.#removeDirs(request.id);
      throw error;
    }
    crashPoint(`${request.op}-after-intent` as const);
    return location;
  }

  /**
   * An operation begun with `begin` failed in this process and left the kernel as it was (a
   * deploy attached nothing, a replace kept the old policy): its intent goes, and a deploy's
   * directories with it.
   */
  cancel(id: string): void {
    const intent = this.#intents.get(id);
    if (intent === undefined) return;
    this.#intents.delete(id);
    this.#write();
    if (intent.op === 'deploy') this.#removeDirs(id);
  }

  /**
   * Pins a new or replaced deployment and records it. Deployments whose attachment cannot
   * persist are not recorded; they end with this process. Throws `PersistenceError`.
   */
  persist(request: PersistRequest): boolean {
    const { deployment } = request;
    const attachment = deployment.attachment;
    if (attachment?.persist === undefined) return this.#unpersistable(deployment.id);
    const previous = this.#records.get(deployment.id);
    const owner = request.owner ?? previous?.owner;
    const source = request.source ?? previous?.policy.source;
    // Without an owner or source text there is nothing recovery could rebuild: not recorded, nothing pinned.
    if (owner === undefined || source === undefined) return this.#unpersistable(deployment.id);
    const op = this.#intents.get(deployment.id)?.op === 'replace' ? 'replace' : 'deploy';
    const location = this.#makeLocation(deployment.id, owner);
    let persisted: PersistedAttachment;
    try {
      persisted = attachment.persist(location);
    } catch (error) {
      throw new PersistenceError('PERSIST_FAILED', `cannot pin deployment ${deployment.id}: ${(error as Error).message}`, { cause: error });
    }
    crashPoint(`${op}-after-persist` as const);
    const startTime = persisted.pid === undefined ? undefined : (previous?.process?.pid === persisted.pid ? previous.process.startTime : processStartTime(persisted.pid));
    const params = paramsToRecord(request.params);
    const sharedMaps = request.sharedMaps ?? previous?.sharedMaps;
    const record: DeploymentRecord = {
      id: deployment.id,
      hook: deployment.hook,
      owner: { uid: owner.uid, gid: owner.gid },
      ...(persisted.pid === undefined || startTime === undefined ? {} : { process: { pid: persisted.pid, startTime } }),
      target: jsonTarget(deployment.target),
      policy: {
        name: deployment.policy.name,
        source: { fileName: source.fileName, text: source.text },
        ...(params === undefined ? {} : { params }),
        ir: policyIrToJson(request.ir),
      },
      attachment: persisted,
      ...(sharedMaps === undefined || sharedMaps.length === 0 ? {} : { sharedMaps: [...sharedMaps] }),
    };
    this.#records.set(deployment.id, record);
    // One write records the outcome and ends the intent.
    this.#intents.delete(deployment.id);
    this.#write();
    crashPoint(`${op}-after-record` as const);
    try {
      attachment.commit?.();
    } catch (error) {
      throw new PersistenceError('PERSIST_FAILED', `cannot pin deployment ${deployment.id}: ${(error as Error).message}`, { cause: error });
    }
    return true;
  }

  /**
   * A deployment ended (undeployed, or its target exited): its record, its intent, its state
   * directory and its pin directory go, and the shared pin directory when nothing uses it now.
   */
  ended(id: string): void {
    const intent = this.#intents.get(id);
    if (intent?.op === 'undeploy') crashPoint('undeploy-after-close');
    const known = this.#records.delete(id);
    const begun = this.#intents.delete(id);
    if (known || begun) this.#write();
    this.#removeDirs(id);
    this.#removeSharedIfEmpty();
  }

  /**
   * A deploy whose attachment cannot persist (it ends with this process): its intent and
   * directories go, as if it had never been begun.
   */
  #unpersistable(id: string): false {
    if (this.#intents.get(id)?.op === 'deploy') this.cancel(id);
    return false;
  }

  /** Whether `id` is recorded (its deployment survives a stop of this process). */
  has(id: string): boolean {
    return this.#records.has(id);
  }

  /**
   * Rebuilds the deployments the state file names. For each: when its target process is gone
   * (no such pid, or a start time that differs: the pid was reused) its directories are
   * removed and it is dropped; otherwise its policy is taken from the recorded IR (checked
   * when the file was read), or, for a record without one, compiled once by `hooks.compile`
   * (the compile worker, with the owner's time limit); then its backend restores it, checking
   * every object's identity, and `hooks.adopt` receives the running deployment under its old
   * id. A deployment whose policy or objects do not check out is dropped and its directories
   * left alone. The state file is then rewritten with what survived (every record now with its IR).
   *
   * Deployments at hooks whose maps live in the kernel (`HookSpec.mapStore`) come first: they
   * bring shared maps back themselves (pinned), shared ones included, and those at userspace
   * hooks are then given the shared maps they use (`RestoreRequest.sharedMaps`).
   *
   * Intents a crashed daemon left: a replace is rolled back to the recorded policy (the
   * backend's restore puts the recorded program back in place); an undeploy is finished (the
   * restored deployment is undeployed); a deploy, and a replace or undeploy whose record no
   * longer restores, is rolled back by the backend's `abandon` (detached, unpinned) and its
   * directories removed. Last, directories under the pin and state roots that no record names
   * and that are provably ours (named as deployment ids are: UUIDs) are removed; anything else
   * there is left alone and logged. An empty shared pin directory is removed.
   */
  async recover(registry: HookRegistry, hooks: RecoveryHooks): Promise<RecoveryReport> {
    const state = readStateFile(this.#options.stateFile);
    const intents = new Map((state.intents ?? []).map((intent) => [intent.id, intent]));
    const restored: string[] = [];
    const dropped: DroppedDeployment[] = [];
    const resolved: { id: string; op: IntentRecord['op']; outcome: 'rolled-back' | 'restored' | 'completed' }[] = [];
    for (const record of await kernelHooksFirst(registry, state.deployments)) {
      const intent = intents.get(record.id);
      intents.delete(record.id);
      let deployment: ManagedDeployment;
      let ir: PolicyIr;
      try {
        ({ deployment, ir } = await this.#restore(registry, hooks.compile, record, hooks.sharedMapsFor(record)));
      } catch (error) {
        if (intent !== undefined && !(isRefusal(error) && error.code === 'RESTORE_TARGET_GONE')) {
          // Mid-replace or mid-undeploy, the pins may name neither the recorded objects nor others whole: the deployment is rolled back.
          await this.#abandon(registry, intent, record);
          resolved.push({ id: record.id, op: intent.op, outcome: 'rolled-back' });
          dropped.push({ id: record.id, code: isRefusal(error) ? error.code : 'RESTORE_FAILED', reason: (error as Error).message, pinsRemoved: true });
          continue;
        }
        dropped.push(this.#drop(record, error));
        continue;
      }
      if (intent?.op === 'undeploy') {
        // The owner asked for it to go: it goes now.
        await deployment.undeploy();
        this.#removeDirs(record.id);
        resolved.push({ id: record.id, op: intent.op, outcome: 'completed' });
        this.#log('info', 'unfinished undeploy completed', { deployment: record.id, hook: record.hook });
        continue;
      }
      this.#records.set(record.id, { ...record, policy: { ...record.policy, ir: policyIrToJson(ir) } });
      hooks.adopt(deployment, record.owner, record);
      restored.push(record.id);
      if (intent !== undefined) resolved.push({ id: record.id, op: intent.op, outcome: 'restored' });
      this.#log('info', intent === undefined ? 'deployment restored' : 'deployment restored: its unfinished replace rolled back', {
        deployment: record.id,
        hook: record.hook,
        policy: record.policy.name,
        pid: record.process?.pid,
      });
    }
    // What is left are deploys that never got recorded (or intents of records gone meanwhile).
    for (const intent of intents.values()) {
      await this.#abandon(registry, intent, undefined);
      resolved.push({ id: intent.id, op: intent.op, outcome: 'rolled-back' });
    }
    this.#write();
    const named = new Set(state.deployments.map((d) => d.id));
    for (const [root, what] of [[this.#options.pinRoot, 'pin'], [this.#options.stateRoot, 'state']] as const) {
      if (root === undefined || !existsSync(root)) continue;
      for (const name of readdirSync(root)) {
        if (named.has(name) || this.#records.has(name) || name === SHARED_DIR) continue;
        const path = join(root, name);
        if (DEPLOYMENT_ID.test(name)) {
          rmSync(path, { recursive: true, force: true });
          this.#log('warn', `${what} directory of an earlier daemon that no record names removed`, { path });
        } else {
          this.#log('warn', `${what} directory not in the state file left alone`, { path });
        }
      }
    }
    this.#removeSharedIfEmpty();
    return { restored, dropped, ...(resolved.length === 0 ? {} : { intents: resolved }) };
  }

  /**
   * Rolls back what an unfinished operation left: the backend detaches what its pins (and the
   * target) show it attached and removes them, then the directories go. A backend that cannot
   * (none provides the hook now, or it has no `abandon`) leaves the kernel alone and is logged.
   */
  async #abandon(registry: HookRegistry, intent: IntentRecord, record: DeploymentRecord | undefined): Promise<void> {
    const fields = { deployment: intent.id, op: intent.op, hook: intent.hook };
    try {
      const { backend } = await registry.backendFor(intent.hook);
      if (backend.abandon === undefined) {
        this.#log('error', 'unfinished operation not rolled back: its backend cannot, pins left alone', fields);
        return;
      }
      const location = this.#makeLocation(intent.id, intent.owner);
      await backend.abandon({ hook: intent.hook, target: intent.target as DeployTarget, location, ...(record === undefined ? {} : { record: record.attachment }) });
    } catch (error) {
      this.#log('error', 'unfinished operation not rolled back, pins left alone', { ...fields, reason: (error as Error).message });
      return;
    }
    this.#removeDirs(intent.id);
    this.#log('info', `unfinished ${intent.op} rolled back`, fields);
  }

  async #restore(
    registry: HookRegistry,
    compile: RecoveryCompile,
    record: DeploymentRecord,
    sharedMaps: SharedMaps | undefined,
  ): Promise<{ deployment: ManagedDeployment; ir: PolicyIr }> {
    if (record.process !== undefined && processStartTime(record.process.pid) !== record.process.startTime) {
      throw new RestoreError('RESTORE_TARGET_GONE', `process ${record.process.pid} exited while the daemon was down.`);
    }
    const { backend } = await registry.backendFor(record.hook);
    if (backend.restore === undefined) {
      throw new RestoreError('RESTORE_UNSUPPORTED', `backend '${backend.name}' cannot restore deployments at hook '${record.hook}'.`);
    }
    // The policy before the objects: a record whose source no longer compiles leaves the kernel objects untouched.
    const unit = await this.#unitOf(record, compile);
    const target = record.target as DeployTarget;
    // A state file of a daemon before state directories names none: it is made now, empty.
    const location = this.#makeLocation(record.id, record.owner);
    const attachment: Attachment = await backend.restore({
      record: record.attachment,
      ir: unit.ir,
      location,
      target,
      ...(record.process === undefined ? {} : { process: record.process }),
      ...(sharedMaps === undefined || sharedMaps.size === 0 ? {} : { sharedMaps }),
    });
    try {
      const deployment = await new ManagedDeployment(registry, unit, { hook: record.hook, target, id: record.id }).adopt(attachment);
      return { deployment, ir: unit.ir };
    } catch (error) {
      // Restored but not adoptable: let go and leave it running.
      await attachment.release?.();
      throw error;
    }
  }

  /** The recorded policy: its IR as recorded, or (a record of an older daemon) compiled from its source once. */
  async #unitOf(record: DeploymentRecord, compile: RecoveryCompile): Promise<PolicyUnit> {
    const source = record.policy.source;
    const ir = recordedIr(record) ?? (await compile(source, paramsFromRecord(record.policy.params), record.owner)).ir;
    return { manifest: ir.manifest, ir, source };
  }

  #drop(record: DeploymentRecord, error: unknown): DroppedDeployment {
    const code = isRefusal(error) ? error.code : 'RESTORE_FAILED';
    const reason = error instanceof Error ? error.message : String(error);
    // Only a gone target frees its directories: untrusted or unrestorable objects are left as found.
    const pinsRemoved = code === 'RESTORE_TARGET_GONE';
    if (pinsRemoved) {
      this.#removeDirs(record.id);
      this.#log('info', 'deployment dropped: its target exited', { deployment: record.id, reason });
    } else {
      this.#log(code === 'RESTORE_UNTRUSTED' ? 'warn' : 'error', 'deployment dropped: not restored, pins left alone', {
        deployment: record.id,
        code,
        reason,
        path: this.dirOf(record.id) ?? this.stateDirOf(record.id),
      });
    }
    return { id: record.id, code, reason, pinsRemoved };
  }

  /** Creates (when missing) deployment `id`'s state directory and, with a pin root, its pin directory: root's, 0755. */
  #makeLocation(id: string, tenant: DeploymentOwner): PersistenceLocation {
    const stateDir = makeDir(this.#options.stateRoot, id, 'STATE_DIRECTORY_FAILED', 'state');
    const pinRoot = this.#options.pinRoot;
    if (pinRoot === undefined) return { stateDir, tenant: { uid: tenant.uid, gid: tenant.gid } };
    const pinDir = makeDir(pinRoot, id, 'PIN_DIRECTORY_FAILED', 'pin');
    return { stateDir, pinDir, sharedPinDir: join(pinRoot, SHARED_DIR), tenant: { uid: tenant.uid, gid: tenant.gid } };
  }

  #removeDirs(id: string): void {
    rmSync(this.stateDirOf(id), { recursive: true, force: true });
    const pinDir = this.dirOf(id);
    if (pinDir !== undefined) rmSync(pinDir, { recursive: true, force: true });
  }

  /** The shared pin directory, when the last object shared through it has gone (its backends remove their subdirectories). */
  #removeSharedIfEmpty(): void {
    const shared = this.sharedDir;
    if (shared === undefined) return;
    try {
      rmdirSync(shared);
    } catch {
      // Missing, or still in use: left as it is.
    }
  }

  #write(): void {
    writeStateFile(this.#options.stateFile, { version: STATE_FILE_VERSION, deployments: [...this.#records.values()], intents: [...this.#intents.values()] });
  }

  #log(...args: Parameters<PersistenceLog>): void {
    this.#options.log?.(...args);
  }
}

/**
 * The target as JSON: `extra` may hold live objects (sockets, programs: embedded), so only its
 * plain values survive (text, numbers, lists of numbers: whatever a hook's schema names), which
 * claims on shared hooks and listings still need after a restart.
 */
function jsonTarget(target: DeployTarget): DeploymentRecord['target'] {
  const { extra, ...rest } = target;
  const plain = Object.entries(extra ?? {}).filter(
    ([, value]) => typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)) || (Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v))),
  );
  return { ...rest, ...(plain.length === 0 ? {} : { extra: Object.fromEntries(plain) as Record<string, string | number | boolean | number[]> }) };
}

/** `<root>/<id>` (state or pins), made traversable: a tenant reaches the files and pins handed to it (0600, its uid) and nothing else. */
function makeDir(root: string, id: string, code: 'STATE_DIRECTORY_FAILED' | 'PIN_DIRECTORY_FAILED', what: string): string {
  const path = join(root, id);
  try {
    makeTraversableDirectory(path);
  } catch (error) {
    throw new PersistenceError(code, `cannot create the ${what} directory ${path}: ${(error as Error).message}`, { cause: error });
  }
  return path;
}

/**
 * The records in restore order: those at hooks whose maps live in the kernel first (they
 * bring shared maps back from their own pins), the others after, each group in file order.
 * A record whose hook no backend provides now keeps its place; its restore fails anyway.
 */
async function kernelHooksFirst(registry: HookRegistry, records: readonly DeploymentRecord[]): Promise<DeploymentRecord[]> {
  const userspace = new Set<DeploymentRecord>();
  for (const record of records) {
    let spec: HookSpec | undefined;
    try {
      spec = (await registry.backendFor(record.hook)).spec;
    } catch {
      spec = undefined;
    }
    if (spec?.mapStore === 'userspace') userspace.add(record);
  }
  return [...records.filter((r) => !userspace.has(r)), ...userspace];
}
