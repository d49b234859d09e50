import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RestoreError, type JsonValue, type PersistedAttachment, type PersistenceLocation, type RestoreRequest } from '@syrup/core';
import { isSyscallError } from '../../errors/syscall-error.js';
import type { Fd } from '../../fd.js';
import { distrust, expectProgramMaps, expectRecorded, openRecordedDataMaps, mkdirMode, openRecorded, pinAt, recordOf, settlePendingPins, unpinEvery, type PendingPins } from '../../pin/pinned-objects.js';
import { pinPath } from '../../pin/pin-path.js';
import { fromObjectRecord, pinDirectoriesOf, toObjectRecord, type PinDirectories, type PinnedObject } from '../../pin/pinned-object.js';
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
 * Those renames and removals wait in `pending` (see `PendingPins`) for the runtime's record.
 */
export function pinSocketGroup(objects: SocketGroupObjects, dir: PinDirectories, pinned: Map<string, number>, sys: Syscalls, pending: PendingPins): PersistedAttachment {
  mkdirMode(join(dir.path, MAPS_DIR), DIR_MODE);
  const records: PinnedObject[] = [];
  const programInfo = objects.program.info();
  pinAt(objects.program.fd, dir.path, PROGRAM_PIN, programInfo.id, pinned, sys, undefined, pending);
  records.push({ pin: PROGRAM_PIN, kind: 'prog', role: 'program', id: programInfo.id, tag: programInfo.tag });
  const executorsId = objects.executors.kernelMap.info().id;
  pinAt(objects.executors.fd, dir.path, EXECUTORS_PIN, executorsId, pinned, sys, undefined, pending);
  records.push({ pin: EXECUTORS_PIN, kind: 'map', role: 'executors', id: executorsId });
  const current = new Set<string>();
  for (const [name, store] of objects.maps) {
    const pin = `${MAPS_DIR}/${pinPath('/', name).slice(1)}`;
    const id = store.kernelMap.info().id;
    pinAt(store.kernelMap.fd, dir.path, pin, id, pinned, sys, dir.tenant, pending);
    records.push({ pin, kind: 'map', role: 'data-map', id, name });
    current.add(pin);
  }
  for (const pin of [...pinned.keys()]) {
    if (pin.startsWith(`${MAPS_DIR}/`) && !current.has(pin) && !pending.removals.includes(pin)) pending.removals.push(pin);
  }
  const { protocol, family, address, port, pid, inodes } = objects.group;
  const data: Record<string, JsonValue> = { protocol, family, address, port, pid, inodes: [...inodes] };
  return { backend: 'ebpf', hook: HOOK, pid, objects: records.map(toObjectRecord), data };
}

/** Removes every pin in `pinned` (a deployment ending); the directories are the runtime's. */
export function unpinAll(dir: string, pinned: Map<string, number>): void {
  unpinEvery(dir, pinned);
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
  const { record } = request;
  const dir = pinDirectoriesOf(request.location, HOOK);
  const info = groupInfoOf(record);
  const objects = record.objects.map((o) => fromObjectRecord(o, HOOK));
  // A daemon that died between a replace's pins and its record left pins pending: settled first.
  settlePendingPins(dir.path, objects, sys);
  const opened: Disposable[] = [];
  try {
    const programRecord = recordOf(objects, 'program', 'prog', 'socket-select');
    const program = Program.fromFd(openRecorded(dir.path, programRecord, sys), { sys });
    opened.push(program);
    const programInfo = program.info({ mapIds: true });
    expectRecorded(programRecord, programInfo.id, programInfo.tag);
    if (programInfo.type !== ProgType.SK_REUSEPORT) distrust(programRecord, `is program type ${programInfo.type}, not SK_REUSEPORT`);

    const executorsRecord = recordOf(objects, 'executors', 'map', 'socket-select');
    const executorsMap = KernelMap.fromFd(openRecorded(dir.path, executorsRecord, sys), { sys });
    opened.push(executorsMap);
    expectRecorded(executorsRecord, executorsMap.info().id);
    if (executorsMap.spec.type !== MapType.REUSEPORT_SOCKARRAY) distrust(executorsRecord, `is map type ${executorsMap.spec.type}, not a reuseport socket array`);
    opened.pop();
    const executors = ReuseportSockArray.fromKernelMap(executorsMap);
    opened.push(executors);

    const maps = openRecordedDataMaps(dir.path, objects, sys, opened);
    expectProgramMaps(programRecord, programInfo.mapIds, objects);
    const pinned = new Map(objects.map((o) => [o.pin, o.id]));
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
