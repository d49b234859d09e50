import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { RestoreError, type JsonValue, type PersistedAttachment, type PinDirectory, type PinnedObjectRecord, type RestoreRequest } from '@syrup/core';
import { isSyscallError } from '../../errors/syscall-error.js';
import type { Fd } from '../../fd.js';
import { openPinned, pinObject, setPinMode, setPinOwner, unpin } from '../../pin/pin.js';
import { pinPath } from '../../pin/pin-path.js';
import { KernelDataMapStore } from '../../maps/kernel-data-map-store.js';
import { KernelMap } from '../../maps/kernel-map.js';
import { ReuseportSockArray } from '../../maps/system/reuseport-sock-array.js';
import { Program } from '../../programs/program.js';
import { MapType, ProgType } from '../../syscalls/bpf-constants.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import type { SocketGroupInfo } from './socket-group.js';

const HOOK = 'socket-select';
export const PROGRAM_PIN = 'prog';
export const EXECUTORS_PIN = 'sockarray';
export const MAPS_DIR = 'maps';
/** Directories under a deployment's pin directory: root-owned, traversable, so a tenant reaches its own map files. */
const DIR_MODE = 0o755;
const PIN_MODE = 0o600;

/** The live objects of a socket-select attachment that get pinned. */
export interface SocketGroupObjects {
  readonly program: Program;
  readonly executors: ReuseportSockArray;
  readonly maps: ReadonlyMap<string, KernelDataMapStore>;
  readonly group: SocketGroupInfo;
}

/**
 * Pins a socket-select attachment's program, socket array and data maps in `dir` and returns
 * the record recovery checks them against. `pinned` (relative pin -> object id) is what this
 * attachment pinned before; it is updated in place. An object already pinned at its path is
 * left alone; a changed one (after a replace) is pinned under a temporary name and renamed
 * over the old pin, so the path always names a whole object; data-map pins no longer used are
 * removed. Data-map pins go to the tenant with mode 0600, everything else stays root's, 0600.
 */
export function pinSocketGroup(objects: SocketGroupObjects, dir: PinDirectory, pinned: Map<string, number>, sys: Syscalls): PersistedAttachment {
  mkdirMode(join(dir.path, MAPS_DIR));
  const records: PinnedObjectRecord[] = [];
  const programInfo = objects.program.info();
  pinAt(objects.program.fd, dir, PROGRAM_PIN, programInfo.id, pinned, sys);
  records.push({ pin: PROGRAM_PIN, kind: 'prog', role: 'program', id: programInfo.id, tag: programInfo.tag });
  const executorsId = objects.executors.kernelMap.info().id;
  pinAt(objects.executors.fd, dir, EXECUTORS_PIN, executorsId, pinned, sys);
  records.push({ pin: EXECUTORS_PIN, kind: 'map', role: 'executors', id: executorsId });
  const current = new Set<string>();
  for (const [name, store] of objects.maps) {
    const pin = `${MAPS_DIR}/${pinPath('/', name).slice(1)}`;
    const id = store.kernelMap.info().id;
    pinAt(store.kernelMap.fd, dir, pin, id, pinned, sys, dir.tenant);
    records.push({ pin, kind: 'map', role: 'data-map', id, name });
    current.add(pin);
  }
  for (const pin of [...pinned.keys()]) {
    if (pin.startsWith(`${MAPS_DIR}/`) && !current.has(pin)) {
      unpin(join(dir.path, pin));
      pinned.delete(pin);
    }
  }
  const { protocol, family, address, port, pid, inodes } = objects.group;
  const data: Record<string, JsonValue> = { protocol, family, address, port, pid, inodes: [...inodes] };
  return { backend: 'ebpf', hook: HOOK, pid, objects: records, data };
}

/** Removes every pin in `pinned` (a deployment ending); the directories are the runtime's. */
export function unpinAll(dir: string, pinned: Map<string, number>): void {
  for (const pin of pinned.keys()) unpin(join(dir, pin));
  pinned.clear();
}

/** What `openSocketGroupPins` found and checked; the caller owns every object in it. */
export interface OpenedSocketGroup extends Disposable {
  readonly program: Program;
  readonly executors: ReuseportSockArray;
  readonly maps: ReadonlyMap<string, KernelDataMapStore>;
  readonly info: SocketGroupInfo;
  readonly pinned: Map<string, number>;
}

/**
 * Opens the pins a record names and checks that each is the recorded object: its kind and
 * type, its id (unique while the object lives, so a replaced pin shows), a program's tag, and
 * that the program uses exactly these maps. Anything else is `RESTORE_UNTRUSTED` and nothing
 * stays open.
 */
export function openSocketGroupPins(request: RestoreRequest, sys: Syscalls): OpenedSocketGroup {
  const { record, dir } = request;
  const info = groupInfoOf(record);
  const opened: Disposable[] = [];
  try {
    const programRecord = single(record, 'program', 'prog');
    const program = Program.fromFd(openChecked(dir, programRecord, sys), { sys });
    opened.push(program);
    const programInfo = program.info({ mapIds: true });
    expectIdentity(programRecord, programInfo.id, programInfo.tag);
    if (programInfo.type !== ProgType.SK_REUSEPORT) untrusted(programRecord, `is program type ${programInfo.type}, not SK_REUSEPORT`);

    const executorsRecord = single(record, 'executors', 'map');
    const executorsMap = KernelMap.fromFd(openChecked(dir, executorsRecord, sys), { sys });
    opened.push(executorsMap);
    expectIdentity(executorsRecord, executorsMap.info().id);
    if (executorsMap.spec.type !== MapType.REUSEPORT_SOCKARRAY) untrusted(executorsRecord, `is map type ${executorsMap.spec.type}, not a reuseport socket array`);
    opened.pop();
    const executors = ReuseportSockArray.fromKernelMap(executorsMap);
    opened.push(executors);

    const maps = new Map<string, KernelDataMapStore>();
    for (const mapRecord of record.objects.filter((o) => o.role === 'data-map')) {
      if (mapRecord.name === undefined || mapRecord.kind !== 'map') untrusted(mapRecord, 'is recorded without a map name');
      const kernelMap = KernelMap.fromFd(openChecked(dir, mapRecord, sys), { sys });
      opened.push(kernelMap);
      expectIdentity(mapRecord, kernelMap.info().id);
      opened.pop();
      let store: KernelDataMapStore;
      try {
        store = KernelDataMapStore.fromKernelMap(kernelMap, { name: mapRecord.name });
      } catch (error) {
        untrusted(mapRecord, 'is not a u32 -> u64 data map', error);
      }
      opened.push(store);
      maps.set(mapRecord.name, store);
    }
    const used = new Set(programInfo.mapIds);
    for (const object of record.objects.filter((o) => o.kind === 'map')) {
      if (!used.has(object.id)) untrusted(object, `is not a map of program ${programInfo.id}`);
    }
    const pinned = new Map(record.objects.map((o) => [o.pin, o.id]));
    return {
      program,
      executors,
      maps,
      info,
      pinned,
      [Symbol.dispose]: () => {
        for (const object of opened.reverse()) object[Symbol.dispose]();
      },
    };
  } catch (error) {
    for (const object of opened.reverse()) object[Symbol.dispose]();
    throw error;
  }
}

/**
 * A pidfd of the recorded target, after checking it is the same process: the pid must still
 * exist and have the recorded start time (read after opening the pidfd, so a pid reused in
 * between shows as a different start time). `RESTORE_TARGET_GONE` otherwise.
 */
export function openTargetPidfd(pid: number, startTime: string | undefined, sys: Syscalls): Fd {
  let pidfd: Fd;
  try {
    pidfd = sys.pidfdOpen(pid);
  } catch (error) {
    if (isSyscallError(error, 'ESRCH')) throw new RestoreError('RESTORE_TARGET_GONE', `process ${pid} has exited.`, { cause: error });
    throw new RestoreError('RESTORE_FAILED', `cannot open a pidfd of process ${pid}.`, { cause: error });
  }
  if (startTime !== undefined && processStartTime(pid) !== startTime) {
    pidfd.close();
    throw new RestoreError('RESTORE_TARGET_GONE', `process ${pid} has exited (its pid now names another process).`);
  }
  return pidfd;
}

/**
 * Field 22 of /proc/<pid>/stat: when the process started, in clock ticks after boot; with the
 * pid it names one process for the machine's uptime. Undefined when the process is gone. The
 * command name (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
 */
export function processStartTime(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // After "pid (comm) " come fields 3...; field 22 is the 20th of them.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

function groupInfoOf(record: PersistedAttachment): SocketGroupInfo {
  const d = record.data;
  const inodes = d['inodes'];
  const ok =
    (d['protocol'] === 'udp' || d['protocol'] === 'tcp') &&
    (d['family'] === 4 || d['family'] === 6) &&
    typeof d['address'] === 'string' &&
    typeof d['port'] === 'number' &&
    typeof d['pid'] === 'number' &&
    Array.isArray(inodes) &&
    inodes.every((i) => typeof i === 'number');
  if (!ok) throw new RestoreError('RESTORE_FAILED', 'the socket-select record does not describe a socket group.');
  return {
    protocol: d['protocol'] as 'udp' | 'tcp',
    family: d['family'] as 4 | 6,
    address: d['address'] as string,
    port: d['port'] as number,
    pid: d['pid'] as number,
    inodes: inodes as number[],
  };
}

function single(record: PersistedAttachment, role: string, kind: PinnedObjectRecord['kind']): PinnedObjectRecord {
  const found = record.objects.filter((o) => o.role === role && o.kind === kind);
  if (found.length !== 1) throw new RestoreError('RESTORE_FAILED', `the socket-select record names ${found.length} objects of role '${role}' instead of one.`);
  return found[0] as PinnedObjectRecord;
}

function openChecked(dir: PinDirectory, object: PinnedObjectRecord, sys: Syscalls): Fd {
  const path = join(dir.path, object.pin);
  if (!path.startsWith(`${dir.path}/`) || object.pin.split('/').some((s) => s === '..' || s === '.' || s === '')) {
    throw new RestoreError('RESTORE_FAILED', `pin '${object.pin}' is not a path inside the deployment's pin directory.`);
  }
  const fd = (() => {
    try {
      return openPinned(path, { sys });
    } catch (error) {
      throw new RestoreError('RESTORE_UNTRUSTED', `the pin ${path} cannot be opened, so the recorded ${object.role} is not there.`, { cause: error });
    }
  })();
  if (sys.objectKind(fd) !== object.kind) {
    fd.close();
    throw new RestoreError('RESTORE_UNTRUSTED', `the pin ${path} holds no bpf ${object.kind}, so it is not the recorded ${object.role}.`);
  }
  return fd;
}

function expectIdentity(object: PinnedObjectRecord, id: number, tag?: string): void {
  if (id !== object.id) untrusted(object, `has id ${id}, but the state file recorded ${object.id}`);
  if (object.tag !== undefined && tag !== object.tag) untrusted(object, `has tag ${tag ?? '(none)'}, but the state file recorded ${object.tag}`);
}

function untrusted(object: PinnedObjectRecord, reason: string, cause?: unknown): never {
  throw new RestoreError('RESTORE_UNTRUSTED', `the ${object.role} pinned at '${object.pin}' ${reason}, so it is not trusted.`, cause === undefined ? undefined : { cause });
}

function pinAt(fd: Fd, dir: PinDirectory, pin: string, id: number, pinned: Map<string, number>, sys: Syscalls, owner?: PinDirectory['tenant']): void {
  if (pinned.get(pin) === id) return;
  const path = join(dir.path, pin);
  // bpffs refuses names with a '.', so the temporary pin is `<name>-pending` (map names are identifiers: no '-').
  const next = `${path}-pending`;
  unpin(next);
  pinObject(fd, next, { sys });
  try {
    setPinMode(next, PIN_MODE);
    if (owner !== undefined) setPinOwner(next, owner.uid, owner.gid);
    // rename(2) replaces the old pin in one step: the path never names nothing or half of it.
    renameSync(next, path);
  } catch (error) {
    unpin(next);
    throw error;
  }
  pinned.set(pin, id);
}

function mkdirMode(path: string): void {
  const first = mkdirSync(path, { recursive: true, mode: DIR_MODE });
  // mkdir's mode passes through the umask; set it exactly on what was created.
  if (first !== undefined) {
    for (let d = path; d.length >= first.length; d = dirname(d)) setPinMode(d, DIR_MODE);
  }
}
