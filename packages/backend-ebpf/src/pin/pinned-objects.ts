import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RestoreError } from '@syrup/core';
import type { Fd } from '../fd.js';
import { KernelDataMapStore } from '../maps/kernel-data-map-store.js';
import { KernelMap } from '../maps/kernel-map.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { openPinned, pinObject, setPinMode, setPinOwner, unpin } from './pin.js';
import type { PinnedObject } from './pinned-object.js';

/*
 * What the hooks' persistence shares: pinning an object under a directory so that the path
 * always names a whole object, and opening a recorded pin again with its identity checked.
 */

/** Pins are root's and 0600 unless given to a tenant (data maps), then the tenant's and 0600. */
export const PIN_MODE = 0o600;

/**
 * Pin changes a persist made that wait for the runtime's record (see `Attachment.commit`):
 * new objects pinned at `<pin>-pending` beside the old pin they replace, and old pins no
 * longer used. Until `commitPins`, the pins still name what the state file records; a crash
 * in between is settled by `settlePendingPins` at restore, whichever record was written.
 */
export interface PendingPins {
  readonly renames: string[];
  readonly removals: string[];
}

/**
 * Pins `fd` at `<base>/<pin>` unless `pinned` says that object is already there. A changed
 * object (after a replace) is pinned under a temporary name and renamed over the old pin, so
 * the path never names nothing or half of it; with `pending`, the rename waits for
 * `commitPins`. `owner` gives the pin to a tenant.
 */
export function pinAt(
  fd: Fd,
  base: string,
  pin: string,
  id: number,
  pinned: Map<string, number>,
  sys: Syscalls,
  owner?: { readonly uid: number; readonly gid: number },
  pending?: PendingPins,
): void {
  if (pinned.get(pin) === id) return;
  const path = join(base, pin);
  // bpffs refuses names with a '.', so the temporary pin is `<name>-pending` (map names are identifiers: no '-').
  const next = `${path}-pending`;
  unpin(next);
  pinObject(fd, next, { sys });
  try {
    setPinMode(next, PIN_MODE);
    if (owner !== undefined) setPinOwner(next, owner.uid, owner.gid);
    if (pending !== undefined && pinned.has(pin)) {
      pending.renames.push(pin);
    } else {
      // rename(2) replaces the old pin in one step.
      renameSync(next, path);
    }
  } catch (error) {
    unpin(next);
    throw error;
  }
  pinned.set(pin, id);
}

/** Makes a persist's pending pin changes final: each `-pending` pin renamed over the old one, unused pins removed. */
export function commitPins(base: string, pending: PendingPins, pinned: Map<string, number>): void {
  for (const pin of pending.renames.splice(0)) renameSync(join(base, `${pin}-pending`), join(base, pin));
  for (const pin of pending.removals.splice(0)) {
    unpin(join(base, pin));
    pinned.delete(pin);
  }
}

/**
 * Before a restore trusts a deployment's pins: finishes or undoes what a persist left pending
 * when its daemon died (see `PendingPins`). A `-pending` pin holding the recorded object (the
 * record was written) is renamed over its final name; any other (the record was not) is
 * removed, as is every pin in `base` the record does not name (a map a replace dropped, or
 * added before its record), so the directory holds exactly the recorded objects' pins.
 */
export function settlePendingPins(base: string, objects: readonly PinnedObject[], sys: Syscalls): void {
  if (!existsSync(base)) return;
  const recorded = new Map(objects.map((o) => [o.pin, o.id]));
  const files = (readdirSync(base, { recursive: true }) as string[]).filter((name) => statSync(join(base, name)).isFile());
  for (const name of files.filter((n) => n.endsWith('-pending'))) {
    const pin = name.slice(0, -'-pending'.length);
    const path = join(base, name);
    if (recorded.has(pin) && pinnedObjectId(path, sys) === recorded.get(pin)) renameSync(path, join(base, pin));
    else unpin(path);
  }
  for (const name of files.filter((n) => !n.endsWith('-pending') && !recorded.has(n))) unpin(join(base, name));
}

/** The kernel id of the object pinned at `path` (every bpf object's info starts with its type, then its id); undefined when it cannot be opened. */
function pinnedObjectId(path: string, sys: Syscalls): number | undefined {
  let fd: Fd;
  try {
    fd = openPinned(path, { sys });
  } catch {
    return undefined;
  }
  try {
    const info = new Uint8Array(16);
    sys.objGetInfoByFd(fd, info);
    return new DataView(info.buffer).getUint32(4, true);
  } finally {
    fd.close();
  }
}

/** Removes every pin in `pinned` (relative to `base`). */
export function unpinEvery(base: string, pinned: Map<string, number>): void {
  for (const pin of pinned.keys()) unpin(join(base, pin));
  pinned.clear();
}

/** Creates `path` (and parents) with exactly `mode`: mkdir's mode passes through the umask. */
export function mkdirMode(path: string, mode: number): void {
  const first = mkdirSync(path, { recursive: true, mode });
  if (first !== undefined) {
    for (let d = path; d.length >= first.length; d = dirname(d)) setPinMode(d, mode);
  }
}

/**
 * Opens the recorded pin under `base` and checks it holds a bpf object of the recorded kind;
 * `RESTORE_UNTRUSTED` when it cannot be opened or holds something else, `RESTORE_FAILED` when
 * the recorded path leaves `base`.
 */
export function openRecorded(base: string, object: PinnedObject, sys: Syscalls): Fd {
  const path = join(base, object.pin);
  if (!path.startsWith(`${base}/`) || object.pin.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new RestoreError('RESTORE_FAILED', `pin '${object.pin}' is not a path inside ${base}.`);
  }
  let fd: Fd;
  try {
    fd = openPinned(path, { sys });
  } catch (error) {
    throw new RestoreError('RESTORE_UNTRUSTED', `the pin ${path} cannot be opened, so the recorded ${object.role} is not there.`, { cause: error });
  }
  if (sys.objectKind(fd) !== object.kind) {
    fd.close();
    throw new RestoreError('RESTORE_UNTRUSTED', `the pin ${path} holds no bpf ${object.kind}, so it is not the recorded ${object.role}.`);
  }
  return fd;
}

/** `RESTORE_UNTRUSTED` unless the object has the recorded id (and tag, for a program). */
export function expectRecorded(object: PinnedObject, id: number, tag?: string): void {
  if (id !== object.id) distrust(object, `has id ${id}, but the state file recorded ${object.id}`);
  if (object.tag !== undefined && tag !== object.tag) distrust(object, `has tag ${tag ?? '(none)'}, but the state file recorded ${object.tag}`);
}

export function distrust(object: PinnedObject, reason: string, cause?: unknown): never {
  throw new RestoreError('RESTORE_UNTRUSTED', `the ${object.role} pinned at '${object.pin}' ${reason}, so it is not trusted.`, cause === undefined ? undefined : { cause });
}

/**
 * `RESTORE_UNTRUSTED` unless every map program `programId` uses is one of the recorded
 * objects. The other way round does not hold: a data map the policy declares but its code
 * never touches is recorded (and checked by id) without being a map of the program.
 */
export function expectProgramMaps(program: PinnedObject, mapIds: readonly number[], objects: readonly PinnedObject[]): void {
  const recorded = new Set(objects.filter((o) => o.kind === 'map').map((o) => o.id));
  const unknown = mapIds.find((id) => !recorded.has(id));
  if (unknown !== undefined) distrust(program, `uses map ${unknown}, which the state file does not record`);
}

/** The one record of `role` and `kind`; `RESTORE_FAILED` when there is not exactly one. */
export function recordOf(objects: readonly PinnedObject[], role: string, kind: PinnedObject['kind'], what: string): PinnedObject {
  const found = objects.filter((o) => o.role === role && o.kind === kind);
  if (found.length !== 1) throw new RestoreError('RESTORE_FAILED', `the ${what} record names ${found.length} objects of role '${role}' instead of one.`);
  return found[0] as PinnedObject;
}

/**
 * Opens every recorded data map under `base`, each checked by id and as a u32 -> u64 data
 * map, keyed by map name. Each opened store is pushed on `opened` as soon as it exists, so
 * the caller's cleanup closes them all when a later check fails.
 */
export function openRecordedDataMaps(base: string, objects: readonly PinnedObject[], sys: Syscalls, opened: Disposable[]): Map<string, KernelDataMapStore> {
  const maps = new Map<string, KernelDataMapStore>();
  for (const mapRecord of objects.filter((o) => o.role === 'data-map')) {
    if (mapRecord.name === undefined || mapRecord.kind !== 'map') distrust(mapRecord, 'is recorded without a map name');
    const kernelMap = KernelMap.fromFd(openRecorded(base, mapRecord, sys), { sys });
    opened.push(kernelMap);
    expectRecorded(mapRecord, kernelMap.info().id);
    opened.pop();
    let store: KernelDataMapStore;
    try {
      store = KernelDataMapStore.fromKernelMap(kernelMap, { name: mapRecord.name });
    } catch (error) {
      distrust(mapRecord, 'is not a u32 -> u64 data map', error);
    }
    opened.push(store);
    maps.set(mapRecord.name, store);
  }
  return maps;
}
