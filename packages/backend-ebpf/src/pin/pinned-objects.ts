import { mkdirSync, renameSync } from 'node:fs';
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
 * Pins `fd` at `<base>/<pin>` unless `pinned` says that object is already there. A changed
 * object (after a replace) is pinned under a temporary name and renamed over the old pin, so
 * the path never names nothing or half of it. `owner` gives the pin to a tenant.
 */
export function pinAt(fd: Fd, base: string, pin: string, id: number, pinned: Map<string, number>, sys: Syscalls, owner?: { readonly uid: number; readonly gid: number }): void {
  if (pinned.get(pin) === id) return;
  const path = join(base, pin);
  // bpffs refuses names with a '.', so the temporary pin is `<name>-pending` (map names are identifiers: no '-').
  const next = `${path}-pending`;
  unpin(next);
  pinObject(fd, next, { sys });
  try {
    setPinMode(next, PIN_MODE);
    if (owner !== undefined) setPinOwner(next, owner.uid, owner.gid);
    // rename(2) replaces the old pin in one step.
    renameSync(next, path);
  } catch (error) {
    unpin(next);
    throw error;
  }
  pinned.set(pin, id);
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
