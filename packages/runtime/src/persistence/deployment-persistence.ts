import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  compilePolicy,
  ManagedDeployment,
  RestoreError,
  SyrupError,
  type Attachment,
  type DeployTarget,
  type HookRegistry,
  type PersistedAttachment,
  type PinDirectory,
  type PolicyParams,
  type PolicySource,
} from '@syrup/core';
import { PersistenceError } from './persistence-error.js';
import { processStartTime } from './process-start-time.js';
import type { PersistenceLog, RuntimePersistenceOptions } from './runtime-persistence-options.js';
import { paramsFromRecord, paramsToRecord, readStateFile, STATE_FILE_VERSION, writeStateFile, type DeploymentRecord } from './state-file.js';

/** Deployment directories: root-owned and traversable, so a tenant reaches its own data-map pins (0600, its uid) and nothing else. */
const DIR_MODE = 0o755;
/** The directory under the pin root for objects deployments share (`PinDirectory.shared`); deployment ids are UUIDs, never this. */
const SHARED_DIR = 'shared';

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
}

/**
 * The runtime's memory across restarts: one pin directory per deployment under the pin root
 * (`<root>/<id>/`, filled by the attachment's `persist`) and one JSON state file naming every
 * persisted deployment with its owner, target process (pid + start time), policy source and
 * params, and the pinned objects' ids and tags. The state file is the only thing recovery
 * trusts; pins are checked against it.
 */
export class DeploymentPersistence {
  readonly #options: RuntimePersistenceOptions;
  readonly #records = new Map<string, DeploymentRecord>();

  constructor(options: RuntimePersistenceOptions) {
    this.#options = options;
  }

  get pinRoot(): string {
    return this.#options.pinRoot;
  }

  /** Where backends pin what several deployments share (an interface's XDP dispatcher): root-only subdirectories, kept while any deployment uses them. */
  get sharedDir(): string {
    return join(this.#options.pinRoot, SHARED_DIR);
  }

  /** The pin directory of deployment `id`. */
  dirOf(id: string): string {
    return join(this.#options.pinRoot, id);
  }

  /**
   * Pins a new or replaced deployment and records it. Deployments whose attachment cannot
   * persist are not recorded; they end with this process. Throws `PersistenceError`.
   */
  persist(request: PersistRequest): boolean {
    const { deployment } = request;
    const attachment = deployment.attachment;
    if (attachment?.persist === undefined) return false;
    const previous = this.#records.get(deployment.id);
    const owner = request.owner ?? previous?.owner;
    const source = request.source ?? previous?.policy.source;
    // Without an owner or source text there is nothing recovery could rebuild: not recorded, nothing pinned.
    if (owner === undefined || source === undefined) return false;
    const dir: PinDirectory = { path: this.#makeDir(deployment.id), tenant: owner, shared: this.sharedDir };
    let persisted: PersistedAttachment;
    try {
      persisted = attachment.persist(dir);
    } catch (error) {
      throw new PersistenceError('PERSIST_FAILED', `cannot pin deployment ${deployment.id}: ${(error as Error).message}`, { cause: error });
    }
    const startTime = persisted.pid === undefined ? undefined : (previous?.process?.pid === persisted.pid ? previous.process.startTime : processStartTime(persisted.pid));
    const params = paramsToRecord(request.params);
    const sharedMaps = request.sharedMaps ?? previous?.sharedMaps;
    const record: DeploymentRecord = {
      id: deployment.id,
      hook: deployment.hook,
      owner: { uid: owner.uid, gid: owner.gid },
      ...(persisted.pid === undefined || startTime === undefined ? {} : { process: { pid: persisted.pid, startTime } }),
      target: jsonTarget(deployment.target),
      policy: { name: deployment.policy.name, source: { fileName: source.fileName, text: source.text }, ...(params === undefined ? {} : { params }) },
      attachment: persisted,
      ...(sharedMaps === undefined || sharedMaps.length === 0 ? {} : { sharedMaps: [...sharedMaps] }),
    };
    this.#records.set(deployment.id, record);
    this.#write();
    return true;
  }

  /** A deployment ended (undeployed, or its target exited): its record and pin directory go. */
  ended(id: string): void {
    const known = this.#records.delete(id);
    if (known) this.#write();
    rmSync(this.dirOf(id), { recursive: true, force: true });
  }

  /** Whether `id` is recorded (its deployment survives a stop of this process). */
  has(id: string): boolean {
    return this.#records.has(id);
  }

  /**
   * Rebuilds the deployments the state file names. For each: when its target process is gone
   * (no such pid, or a start time that differs: the pid was reused) its pins are removed and
   * it is dropped; otherwise its backend restores it from the pins, checking every object's
   * id and tag, and `adopt` receives the running deployment under its old id. A deployment
   * whose pins do not match is dropped and its directory left alone. The state file is then
   * rewritten with what survived.
   */
  async recover(registry: HookRegistry, adopt: (deployment: ManagedDeployment, owner: DeploymentOwner, record: DeploymentRecord) => void): Promise<RecoveryReport> {
    const state = readStateFile(this.#options.stateFile);
    const restored: string[] = [];
    const dropped: DroppedDeployment[] = [];
    for (const record of state.deployments) {
      try {
        const deployment = await this.#restore(registry, record);
        this.#records.set(record.id, record);
        adopt(deployment, record.owner, record);
        restored.push(record.id);
        this.#log('info', 'deployment restored', { deployment: record.id, hook: record.hook, policy: record.policy.name, pid: record.process?.pid });
      } catch (error) {
        const outcome = this.#drop(record, error);
        dropped.push(outcome);
      }
    }
    this.#write();
    const recorded = new Set(state.deployments.map((d) => d.id));
    if (existsSync(this.#options.pinRoot)) {
      for (const name of readdirSync(this.#options.pinRoot)) {
        if (!recorded.has(name) && name !== SHARED_DIR) this.#log('warn', 'pin directory not in the state file left alone', { path: this.dirOf(name) });
      }
    }
    return { restored, dropped };
  }

  async #restore(registry: HookRegistry, record: DeploymentRecord): Promise<ManagedDeployment> {
    if (record.process !== undefined && processStartTime(record.process.pid) !== record.process.startTime) {
      throw new RestoreError('RESTORE_TARGET_GONE', `process ${record.process.pid} exited while the daemon was down.`);
    }
    const { backend } = await registry.backendFor(record.hook);
    if (backend.restore === undefined) {
      throw new RestoreError('RESTORE_UNSUPPORTED', `backend '${backend.name}' cannot restore deployments at hook '${record.hook}'.`);
    }
    const target = record.target as DeployTarget;
    const attachment: Attachment = await backend.restore({
      record: record.attachment,
      dir: { path: this.dirOf(record.id), tenant: record.owner, shared: this.sharedDir },
      target,
      ...(record.process === undefined ? {} : { process: record.process }),
    });
    try {
      const params = paramsFromRecord(record.policy.params);
      const source = record.policy.source;
      const { manifest } = compilePolicy(source, params === undefined ? {} : { params });
      return await new ManagedDeployment(registry, { manifest, source }, { hook: record.hook, target, id: record.id }).adopt(attachment);
    } catch (error) {
      // Restored but not adoptable (the recorded source no longer compiles): let go and leave it running.
      await attachment.release?.();
      throw error;
    }
  }

  #drop(record: DeploymentRecord, error: unknown): DroppedDeployment {
    const code = error instanceof SyrupError ? error.code : 'RESTORE_FAILED';
    const reason = error instanceof Error ? error.message : String(error);
    // Only a gone target frees its pins: untrusted or unrestorable objects are left as found.
    const pinsRemoved = code === 'RESTORE_TARGET_GONE';
    if (pinsRemoved) {
      rmSync(this.dirOf(record.id), { recursive: true, force: true });
      this.#log('info', 'deployment dropped: its target exited', { deployment: record.id, reason });
    } else {
      this.#log(code === 'RESTORE_UNTRUSTED' ? 'warn' : 'error', 'deployment dropped: not restored, pins left alone', { deployment: record.id, code, reason, path: this.dirOf(record.id) });
    }
    return { id: record.id, code, reason, pinsRemoved };
  }

  #makeDir(id: string): string {
    const path = this.dirOf(id);
    try {
      mkdirSync(this.#options.pinRoot, { recursive: true, mode: DIR_MODE });
      if (mkdirSync(path, { recursive: true, mode: DIR_MODE }) !== undefined) chmodSync(path, DIR_MODE);
    } catch (error) {
      throw new PersistenceError('PIN_DIRECTORY_FAILED', `cannot create the pin directory ${path}: ${(error as Error).message}`, { cause: error });
    }
    return path;
  }

  #write(): void {
    writeStateFile(this.#options.stateFile, { version: STATE_FILE_VERSION, deployments: [...this.#records.values()] });
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
