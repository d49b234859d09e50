import { RestoreError, type JsonValue, type PersistedObjectRecord, type PersistenceLocation } from '@syrup/core';
import { PinError } from '../errors/pin-error.js';

/**
 * One kernel object an eBPF deployment pinned: where (relative to its pin directory), what,
 * and the identity restore checks before trusting what it finds at that path (a path alone
 * proves nothing: ids are unique while the object lives, and a program's tag is the hash of
 * its code). The runtime keeps it as a generic {@link PersistedObjectRecord}: `kind` and
 * `role` as they are, `pin`, `id` and `tag` in its `identity`, which only this package reads.
 */
export interface PinnedObject {
  /** Path relative to the deployment's pin directory, such as `prog` or `maps/next`. */
  readonly pin: string;
  readonly kind: 'prog' | 'map' | 'link';
  /** What the object is to the backend (`program`, `executors`, `data-map`...). */
  readonly role: string;
  readonly id: number;
  /** Programs only: the kernel's tag (16 hex digits). */
  readonly tag?: string;
  /** Data maps: the policy's map name. */
  readonly name?: string;
}

/** The generic record of a pinned object, as the runtime's state file keeps it. */
export function toObjectRecord(object: PinnedObject): PersistedObjectRecord {
  const identity: Record<string, JsonValue> = { pin: object.pin, id: object.id, ...(object.tag === undefined ? {} : { tag: object.tag }) };
  return { kind: object.kind, role: object.role, ...(object.name === undefined ? {} : { name: object.name }), identity };
}

/**
 * A pinned object from its generic record; `RESTORE_FAILED` when the record is not one this
 * package wrote (an unknown kind, an identity without a pin path or a kernel id). Objects
 * this package keeps inside its own `data` (an XDP dispatcher's) are {@link PinnedObject}s,
 * flat, with `pin`, `id` and `tag` beside `kind`, as every version wrote them: both shapes are read.
 */
export function fromObjectRecord(record: PersistedObjectRecord | PinnedObject, what: string): PinnedObject {
  const flat = record as Partial<PinnedObject>;
  const identity = (record as Partial<PersistedObjectRecord>).identity ?? { pin: flat.pin ?? null, id: flat.id ?? null, ...(flat.tag === undefined ? {} : { tag: flat.tag }) };
  const { pin, id, tag } = identity as { pin?: unknown; id?: unknown; tag?: unknown };
  const kind = record.kind;
  const ok =
    (kind === 'prog' || kind === 'map' || kind === 'link') &&
    typeof record.role === 'string' &&
    typeof pin === 'string' &&
    typeof id === 'number' &&
    Number.isInteger(id) &&
    id >= 0 &&
    (tag === undefined || (typeof tag === 'string' && /^[0-9a-f]{16}$/.test(tag))) &&
    (record.name === undefined || typeof record.name === 'string');
  if (!ok) throw new RestoreError('RESTORE_FAILED', `the ${what} record names an object that is not a pinned bpf program, map or link.`);
  return { pin, kind, role: record.role, id, ...(tag === undefined ? {} : { tag: tag as string }), ...(record.name === undefined ? {} : { name: record.name }) };
}

/** The bpffs directories of one eBPF deployment, from the runtime's persistence location. */
export interface PinDirectories {
  /** The deployment's own pin directory. */
  readonly path: string;
  /** Where objects several deployments share are pinned (an interface's XDP dispatcher). */
  readonly shared: string;
  readonly tenant: { readonly uid: number; readonly gid: number };
}

/**
 * The pin directories of `location`: every eBPF deployment pins, so a location without a
 * pin directory (a runtime configured without a pin root on bpffs) is refused.
 */
export function pinDirectoriesOf(location: PersistenceLocation, hook: string): PinDirectories {
  const path = location.pinDir;
  if (path === undefined) {
    throw new PinError('BPFFS_UNAVAILABLE', location.stateDir, `a ${hook} deployment keeps its kernel objects pinned on bpffs, and the runtime gave it no pin directory.`);
  }
  return { path, shared: location.sharedPinDir ?? `${path.slice(0, path.lastIndexOf('/'))}/shared`, tenant: location.tenant };
}
