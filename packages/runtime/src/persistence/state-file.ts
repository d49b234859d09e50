import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PolicyIrError, policyIrFromJson, type JsonValue, type PersistedAttachment, type PersistedObjectRecord, type PolicyIr, type PolicyParams } from '@syrup/core';
import { z } from 'zod';
import { PersistenceError } from './persistence-error.js';
import { makeTraversableDirectory } from './traversable-directory.js';

/** Version 2 names persisted objects generically (`kind` and `identity` are the backend's); version 1 files are read and migrated. */
export const STATE_FILE_VERSION = 2;

const u32 = z.number().int().min(0).max(0xffff_ffff);

/** An object a backend persisted: the runtime keeps it and hands it back, never reading `kind` or `identity`. */
const ObjectRecordSchema = z.strictObject({
  kind: z.string().min(1).max(64),
  role: z.string().min(1).max(64),
  name: z.string().min(1).max(64).optional(),
  identity: z.record(z.string(), z.json()),
});

/** Version 1 (the daemon before generic records): every object a pinned bpf object with its kernel id and, for programs, tag. */
const PinnedObjectV1Schema = z.strictObject({
  pin: z.string().min(1).max(512),
  kind: z.enum(['prog', 'map', 'link']),
  role: z.string().min(1).max(64),
  id: u32,
  tag: z.string().regex(/^[0-9a-f]{16}$/).optional(),
  name: z.string().min(1).max(64).optional(),
});

const TargetSchema = z.strictObject({
  port: z.number().int().optional(),
  protocol: z.enum(['udp', 'tcp']).optional(),
  pid: z.number().int().optional(),
  interface: z.string().optional(),
  queue: z.number().int().optional(),
  extra: z.record(z.string(), z.json()).optional(),
});

function persistedAttachmentSchema<O extends z.ZodType>(object: O) {
  return z.strictObject({
    backend: z.string().min(1),
    hook: z.string().min(1),
    pid: z.number().int().positive().optional(),
    objects: z.array(object),
    data: z.record(z.string(), z.json()),
  });
}

/** A deployment as the state file records it: enough to restore it, list it and replace it after a restart. */
function deploymentRecordSchema<O extends z.ZodType>(object: O) {
  return z.strictObject({
    id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
    hook: z.string().min(1).max(64),
    owner: z.strictObject({ uid: u32, gid: u32 }),
    /** The process the deployment follows: pid plus start time, since a pid alone may be reused. */
    process: z.strictObject({ pid: z.number().int().positive(), startTime: z.string().regex(/^\d+$/) }).optional(),
    target: TargetSchema,
    policy: z.strictObject({
      name: z.string(),
      source: z.strictObject({ fileName: z.string(), text: z.string() }),
      /** The params the deploy or last replace passed; u64 values beyond 2^53 as decimal strings. */
      params: z.record(z.string(), z.union([z.number(), z.string().regex(/^\d+$/)])).optional(),
      /**
       * The policy IR the front end made at deploy or replace (core's `policyIrToJson`), so that
       * recovery does not run the front end again. Absent in files of daemons before it: recovery
       * then compiles `source` in the compile worker. Checked with core's IR verifier when read.
       */
      ir: z.json().optional(),
    }),
    attachment: persistedAttachmentSchema(object),
    /** The maps it shares by name with its owner's other deployments (`shareMaps`); recovery joins them again. */
    sharedMaps: z.array(z.string().min(1).max(128)).max(64).optional(),
  });
}

const DeploymentRecordSchema = deploymentRecordSchema(ObjectRecordSchema);

/**
 * An operation begun and not yet finished (see DeploymentPersistence): written, and flushed,
 * before the backend touches the kernel, and removed in the same write that records its
 * outcome. Recovery finishes or rolls back every intent it finds: a crashed daemon left it.
 */
const IntentRecordSchema = z.strictObject({
  op: z.enum(['deploy', 'replace', 'undeploy']),
  id: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
  hook: z.string().min(1).max(64),
  owner: z.strictObject({ uid: u32, gid: u32 }),
  target: TargetSchema,
});

const StateSchema = z.strictObject({
  version: z.literal(STATE_FILE_VERSION),
  deployments: z.array(DeploymentRecordSchema),
  /** Absent when no operation is under way (always, after a clean stop). */
  intents: z.array(IntentRecordSchema).optional(),
});

const StateV1Schema = z.strictObject({
  version: z.literal(1),
  deployments: z.array(deploymentRecordSchema(PinnedObjectV1Schema)),
});

type RecordShape = z.infer<typeof DeploymentRecordSchema>;
export type DeploymentRecord = Omit<RecordShape, 'attachment' | 'policy'> & {
  readonly attachment: PersistedAttachment;
  readonly policy: Omit<RecordShape['policy'], 'ir'> & { readonly ir?: JsonValue };
};
export type IntentRecord = z.infer<typeof IntentRecordSchema>;
export interface RuntimeState {
  readonly version: typeof STATE_FILE_VERSION;
  readonly deployments: readonly DeploymentRecord[];
  /** Operations under way; left out of the file when there are none. */
  readonly intents?: readonly IntentRecord[];
}

/**
 * Reads the state file; a missing file is an empty state (a first start), and a version 1
 * file (today's format before generic records) is migrated. A file that is not a state this
 * version or version 1 wrote is refused rather than ignored: the deployments it names still
 * steer traffic, and starting empty would orphan them.
 */
export function readStateFile(path: string): RuntimeState {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: STATE_FILE_VERSION, deployments: [] };
    throw new PersistenceError('STATE_FILE_INVALID', `cannot read the state file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PersistenceError('STATE_FILE_INVALID', `the state file ${path} is not JSON, so it is not one syrupd wrote.`, { cause: error });
  }
  const version = typeof json === 'object' && json !== null ? (json as { version?: unknown }).version : undefined;
  const state = version === 1 ? migrateV1(parse(StateV1Schema, json, path)) : (parse(StateSchema, json, path) as RuntimeState);
  // The file is root-owned, but what recovery hands on is still checked: the IR as any IR from outside.
  state.deployments.forEach((record, index) => {
    try {
      recordedIr(record);
    } catch (error) {
      if (!(error instanceof PolicyIrError)) throw error;
      throw new PersistenceError('STATE_FILE_INVALID', `the state file ${path} is invalid at 'deployments.${index}.policy.ir': ${error.message}`, { cause: error });
    }
  });
  return state;
}

/**
 * The IR a record carries, read back and checked (core's `policyIrFromJson`: manifest,
 * immediates, `verifyPolicyIr`), or undefined for a record of a daemon that did not write
 * one. Throws `PolicyIrError` when it does not check out or names another policy.
 */
export function recordedIr(record: DeploymentRecord): PolicyIr | undefined {
  if (record.policy.ir === undefined) return undefined;
  const ir = policyIrFromJson(record.policy.ir);
  if (ir.manifest.name !== record.policy.name) {
    throw new PolicyIrError(`the recorded IR is of policy '${ir.manifest.name}', not of the recorded policy '${record.policy.name}'.`);
  }
  return ir;
}

function parse<S extends z.ZodType>(schema: S, json: unknown, path: string): z.infer<S> {
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PersistenceError('STATE_FILE_INVALID', `the state file ${path} is invalid at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'unknown'}.`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/**
 * A version 1 state (written before objects were generic) as this version keeps it: each
 * pinned object keeps its kind, role and map name, and its pin path, kernel id and tag become
 * its identity, which is what the eBPF backend that wrote it reads back. Nothing else changed.
 */
function migrateV1(state: z.infer<typeof StateV1Schema>): RuntimeState {
  const deployments = state.deployments.map((record): DeploymentRecord => ({
    ...record,
    attachment: {
      ...record.attachment,
      objects: record.attachment.objects.map((object): PersistedObjectRecord => {
        const identity: Record<string, JsonValue> = { pin: object.pin, id: object.id, ...(object.tag === undefined ? {} : { tag: object.tag }) };
        return { kind: object.kind, role: object.role, ...(object.name === undefined ? {} : { name: object.name }), identity };
      }),
    },
  }));
  return { version: STATE_FILE_VERSION, deployments };
}

/**
 * Replaces the state file atomically: the JSON goes to a temporary file in the same
 * directory, is flushed to disk, and is renamed over the old one, and the directory is
 * flushed too (the rename is durable when this returns, which an intent needs: it must be on
 * disk before anything is attached). A crash at any moment leaves either the old state or the
 * new one, never a torn file. Root-only (0600); the directory is created when missing.
 */
export function writeStateFile(path: string, state: RuntimeState): void {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    // The directory is traversable (a state directory root may live beside the file, see
    // DeploymentPersistence); the file itself is root's alone (0600).
    makeTraversableDirectory(dirname(path));
    const fd = openSync(temporary, 'w', 0o600);
    try {
      const { intents, ...rest } = state;
      writeSync(fd, `${JSON.stringify(intents === undefined || intents.length === 0 ? rest : state, null, 2)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, path);
    const dir = openSync(dirname(path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new PersistenceError('STATE_FILE_WRITE_FAILED', `cannot write the state file ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Params as the state file keeps them: JSON numbers, and u64 values beyond 2^53 as decimal strings. */
export function paramsToRecord(params: PolicyParams | undefined): Record<string, number | string> | undefined {
  if (params === undefined) return undefined;
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
}

export function paramsFromRecord(params: Readonly<Record<string, number | string>> | undefined): PolicyParams | undefined {
  if (params === undefined) return undefined;
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? BigInt(v) : v]));
}
