import { existsSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { RestoreError } from '@syrup/core';
import { XdpLink } from '../../links/xdp-link.js';
import { KernelMap } from '../../maps/kernel-map.js';
import { ProgArray } from '../../maps/system/prog-array.js';
import { openPinned, unpin } from '../../pin/pin.js';
import type { PinnedObject } from '../../pin/pinned-object.js';
import { distrust, expectRecorded, mkdirMode, openRecorded, pinAt, recordOf, unpinEvery } from '../../pin/pinned-objects.js';
import { Program } from '../../programs/program.js';
import { MapType, ProgType } from '../../syscalls/bpf-constants.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import type { DispatcherObjects } from './dispatcher-attach.js';
import type { DispatcherLocation, DispatcherPins } from './dispatcher-location.js';
import { ROUTE_VALUE_SIZE } from './dispatcher-program.js';
import { RouteTable } from './route-table.js';

/*
 * A dispatcher's pins: `<sharedDir>/xdp-<netns>-<ifindex>/{link,prog,routes,policies}`, root's,
 * 0600, in a 0700 directory. The pinned link keeps the dispatcher attached and the pinned
 * program array keeps its slots (the kernel empties a program array when no fd or pin refers
 * to it any more) after every fd of the process that attached it is closed.
 */

export const LINK_PIN = 'link';
export const PROGRAM_PIN = 'prog';
export const ROUTES_PIN = 'routes';
export const POLICIES_PIN = 'policies';
const EVERY_PIN = [LINK_PIN, PROGRAM_PIN, ROUTES_PIN, POLICIES_PIN] as const;
const DISPATCHER_DIR_MODE = 0o700;
const SHARED_DIR_MODE = 0o755;

/** Where one dispatcher is pinned, and what: pinned once, then kept for its location and its removal. */
export class DispatcherPinSet {
  #dir: string | undefined;
  #sharedDir: string | undefined;
  /** pin -> object id, as pinned. */
  readonly #pinned = new Map<string, number>();
  #records: readonly PinnedObject[] = [];

  /** The pins of a dispatcher opened from `location` (already checked against its record). */
  static of(location: DispatcherLocation): DispatcherPinSet {
    const set = new DispatcherPinSet();
    set.#dir = join(location.sharedDir, location.pins.dir);
    set.#sharedDir = location.sharedDir;
    for (const object of location.pins.objects) set.#pinned.set(object.pin, object.id);
    set.#records = location.pins.objects;
    return set;
  }

  get pinned(): boolean {
    return this.#dir !== undefined;
  }

  /** Pins the four objects in `<sharedDir>/<dirName>/` unless they are pinned there already (moving from another directory). */
  pin(objects: DispatcherObjects, sharedDir: string, dirName: string): DispatcherPins {
    const path = join(sharedDir, dirName);
    if (this.#dir !== undefined && this.#dir !== path) this.remove();
    mkdirMode(sharedDir, SHARED_DIR_MODE);
    mkdirMode(path, DISPATCHER_DIR_MODE);
    const { link, program, routes, policies } = objects;
    const sys = link.sys;
    const linkId = link.info().id;
    const programInfo = program.info();
    const routesId = routes.info().id;
    const policiesId = policies.kernelMap.info().id;
    this.#dir = path;
    this.#sharedDir = sharedDir;
    pinAt(link.fd, path, LINK_PIN, linkId, this.#pinned, sys);
    pinAt(program.fd, path, PROGRAM_PIN, programInfo.id, this.#pinned, sys);
    pinAt(routes.fd, path, ROUTES_PIN, routesId, this.#pinned, sys);
    pinAt(policies.fd, path, POLICIES_PIN, policiesId, this.#pinned, sys);
    this.#records = [
      { pin: LINK_PIN, kind: 'link', role: 'dispatcher-link', id: linkId },
      { pin: PROGRAM_PIN, kind: 'prog', role: 'dispatcher', id: programInfo.id, tag: programInfo.tag },
      { pin: ROUTES_PIN, kind: 'map', role: 'routes', id: routesId },
      { pin: POLICIES_PIN, kind: 'map', role: 'policies', id: policiesId },
    ];
    return { dir: dirName, objects: this.#records };
  }

  /** The shared directory and the pins as a record keeps them; undefined until pinned. */
  where(): { sharedDir: string; pins: DispatcherPins } | undefined {
    if (this.#dir === undefined || this.#sharedDir === undefined) return undefined;
    return { sharedDir: this.#sharedDir, pins: { dir: this.#dir.slice(this.#sharedDir.length + 1), objects: this.#records } };
  }

  /** Removes the pins this set made, and their directory when nothing else is in it. */
  remove(): void {
    const dir = this.#dir;
    if (dir === undefined) return;
    unpinEvery(dir, this.#pinned);
    this.#dir = undefined;
    removeDirectory(dir);
  }
}

/**
 * Opens a pinned dispatcher, checking every pin against the record (`RESTORE_UNTRUSTED`
 * otherwise). `interfaceGone` tells a link pin that cannot be opened because its interface went
 * away (`RESTORE_TARGET_GONE`) from any other failure. A link detached meanwhile (ifindex 0: the
 * device went away) has its pins removed and is `RESTORE_TARGET_GONE` too. Nothing stays open
 * on failure.
 */
export function openDispatcherPins(location: DispatcherLocation, sys: Syscalls, interfaceGone: () => boolean): DispatcherObjects {
  const base = join(location.sharedDir, location.pins.dir);
  const what = `XDP dispatcher`;
  using opened = new DisposableStack();
  if (location.pins.dir.includes('/') || location.pins.dir.startsWith('.')) throw new RestoreError('RESTORE_FAILED', `'${location.pins.dir}' is not a directory name.`);
  const linkRecord = recordOf(location.pins.objects, 'dispatcher-link', 'link', what);
  const programRecord = recordOf(location.pins.objects, 'dispatcher', 'prog', what);
  const routesRecord = recordOf(location.pins.objects, 'routes', 'map', what);
  const policiesRecord = recordOf(location.pins.objects, 'policies', 'map', what);
  let linkFd;
  try {
    linkFd = openRecorded(base, linkRecord, sys);
  } catch (error) {
    if (interfaceGone()) {
      throw new RestoreError('RESTORE_TARGET_GONE', `interface '${location.ifname}' (ifindex ${location.ifindex}) no longer exists, and neither does its dispatcher.`, { cause: error });
    }
    throw error;
  }
  let link: XdpLink;
  try {
    link = XdpLink.fromFd(linkFd, { sys });
  } catch (error) {
    distrust(linkRecord, 'is not an XDP link', error);
  }
  opened.use(link);
  const linkInfo = link.info();
  expectRecorded(linkRecord, linkInfo.id);
  if (linkInfo.progId !== programRecord.id) distrust(linkRecord, `runs program ${linkInfo.progId}, not the recorded dispatcher ${programRecord.id}`);

  const program = opened.use(Program.fromFd(openRecorded(base, programRecord, sys), { sys }));
  const programInfo = program.info({ mapIds: true });
  expectRecorded(programRecord, programInfo.id, programInfo.tag);
  if (programInfo.type !== ProgType.XDP) distrust(programRecord, `is program type ${programInfo.type}, not XDP`);

  const routes = opened.use(KernelMap.fromFd(openRecorded(base, routesRecord, sys), { sys }));
  expectRecorded(routesRecord, routes.info().id);
  if (!RouteTable.fits(routes)) distrust(routesRecord, 'is not a routes hash');

  // Owned by the stack as a map until it is known to be a program array, then as one.
  const policiesStack = opened.use(new DisposableStack());
  const policiesMap = policiesStack.use(KernelMap.fromFd(openRecorded(base, policiesRecord, sys), { sys }));
  expectRecorded(policiesRecord, policiesMap.info().id);
  if (policiesMap.spec.type !== MapType.PROG_ARRAY) distrust(policiesRecord, 'is not a program array');
  policiesStack.move();
  const policies = opened.use(ProgArray.fromKernelMap(policiesMap));
  for (const object of [routesRecord, policiesRecord]) {
    if (!programInfo.mapIds.includes(object.id)) distrust(object, `is not a map of the dispatcher program ${programInfo.id}`);
  }

  // Trusted. A link whose device went away is detached (ifindex 0): nothing is left to serve.
  if (linkInfo.ifindex !== location.ifindex) {
    opened.dispose();
    removeDispatcherPins(base);
    throw new RestoreError('RESTORE_TARGET_GONE', `interface '${location.ifname}' (ifindex ${location.ifindex}) went away, and its dispatcher with it.`);
  }
  opened.move();
  return { program, routes, policies, link, mode: location.mode };
}

/**
 * The pinned half of `XdpDispatchers.abandonRoute`: unroutes `port` in the dispatcher pinned at
 * `base` (if pinned there, and if those pins are a dispatcher's routes and policies), empties
 * its slot, and detaches and unpins the dispatcher when no route is left.
 */
export function abandonPinnedRoute(base: string, port: number, sys: Syscalls): void {
  if (!existsSync(join(base, ROUTES_PIN))) return;
  using opened = new DisposableStack();
  const routesMap = opened.use(KernelMap.fromFd(openPinned(join(base, ROUTES_PIN), { sys }), { sys }));
  const policiesMap = opened.use(KernelMap.fromFd(openPinned(join(base, POLICIES_PIN), { sys }), { sys }));
  if (routesMap.spec.type !== MapType.HASH || routesMap.spec.valueSize !== ROUTE_VALUE_SIZE || policiesMap.spec.type !== MapType.PROG_ARRAY) {
    throw new RestoreError('RESTORE_UNTRUSTED', `the pins in ${base} are not a Syrup dispatcher's routes and policies, so they are left alone.`);
  }
  const routes = new RouteTable(routesMap);
  const route = routes.routeOf(port);
  if (route !== undefined) {
    routes.unroute(port);
    policiesMap.delete(new Uint8Array(new Uint32Array([route.slot]).buffer));
  }
  if (!routes.empty) return;
  // No port is routed any more: the dispatcher goes, as when its last lease is closed.
  if (existsSync(join(base, LINK_PIN))) {
    const link = opened.use(XdpLink.fromFd(openPinned(join(base, LINK_PIN), { sys }), { sys }));
    link.detach();
  }
  removeDispatcherPins(base);
}

/** Removes all four pins at `base` and the directory when nothing else is in it. */
function removeDispatcherPins(base: string): void {
  for (const pin of EVERY_PIN) unpin(join(base, pin));
  removeDirectory(base);
}

function removeDirectory(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (something else was put there) or already gone: left as it is.
  }
}
