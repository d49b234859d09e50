import { existsSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { crashPoint, RestoreError } from '@syrup/core';
import type { PinnedObject } from '../../pin/pinned-object.js';
import { interfaceIndex } from '../../links/interface-index.js';
import { LinkError } from '../../links/link-error.js';
import { networkNamespaceIdentity } from '../../links/network-namespace-identity.js';
import { inNetworkNamespace } from '../../links/network-namespace.js';
import { attachXdp, XdpLink } from '../../links/xdp-link.js';
import { KernelMap } from '../../maps/kernel-map.js';
import { ProgArray } from '../../maps/system/prog-array.js';
import { distrust, expectRecorded, mkdirMode, openRecorded, pinAt, recordOf, unpinEvery } from '../../pin/pinned-objects.js';
import { openPinned, unpin } from '../../pin/pin.js';
import { Program } from '../../programs/program.js';
import { AttachType, MapType, ProgType, UpdateFlag } from '../../syscalls/bpf-constants.js';
import { nativeSyscalls } from '../../syscalls/native-syscalls.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { DISPATCHER_MAP_NAMES, ROUTE_VALUE_SIZE, dispatcherInstructions } from './dispatcher-program.js';
import { XdpHookError } from './xdp-hook-error.js';

/** The XDP mode a dispatcher runs in: generic (skb) or native (drv). */
export type DispatcherMode = 'skb' | 'drv';

/** Slots (and so tenants' ports) one dispatcher serves. */
export const DISPATCHER_SLOTS = 256;

export interface AcquireDispatcherOptions {
  readonly ifname: string;
  readonly ifindex: number;
  /** The interface's network namespace (`ip netns` name or path); this thread's by default. */
  readonly netns?: string;
  /** A mode to insist on, or `prefer-drv`: the running dispatcher's mode, else drv where the driver has it, else skb. */
  readonly mode: DispatcherMode | 'prefer-drv';
  readonly sys?: Syscalls;
}

/** One tenant's place in a dispatcher: its port's route and its policy slot. Release it exactly once. */
export interface DispatcherLease {
  readonly dispatcher: XdpDispatcher;
  readonly port: number;
  readonly slot: number;
  /** Puts `program` in the slot atomically: each frame runs the old policy or the new one. */
  install(program: Program): void;
  /** Unroutes the port, empties the slot and gives up this lease's hold on the dispatcher. */
  release(): void;
  /**
   * Gives up this lease's hold without touching the kernel: the port stays routed to the slot
   * and the slot keeps its program (a persisted deployment whose process stops). When no lease
   * is left the dispatcher drops its fds and, being pinned, stays attached.
   */
  letGo(): void;
}

/**
 * A dispatcher's pins as a deployment's record keeps them: the directory under the shared pin
 * directory and the recorded objects (`link`, `prog`, `routes`, `policies`), all root's, 0600.
 */
export interface DispatcherPins {
  readonly dir: string;
  readonly objects: readonly PinnedObject[];
}

/** Where a dispatcher is found again: its interface, the mode it runs in and its pins. */
export interface DispatcherLocation {
  readonly ifname: string;
  readonly ifindex: number;
  readonly netns: string | undefined;
  /** The network namespace's identity (`networkNamespaceIdentity`) when it was pinned. */
  readonly netnsId: string;
  readonly mode: DispatcherMode;
  /** The shared pin directory `pins.dir` is in. */
  readonly sharedDir: string;
  readonly pins: DispatcherPins;
}

const dispatchers = new Map<string, XdpDispatcher>();
/** Dispatchers pinned by this process that no lease holds right now, by key: a later lease or restore opens their pins again instead of attaching. */
const parked = new Map<string, DispatcherLocation>();

const DISPATCHER_DIR_MODE = 0o700;
const SHARED_DIR_MODE = 0o755;
const LINK_PIN = 'link';
const PROGRAM_PIN = 'prog';
const ROUTES_PIN = 'routes';
const POLICIES_PIN = 'policies';

/**
 * The root XDP program of one interface and the maps through which it serves many policies:
 * a `routes` hash (UDP destination port -> slot, queue) and a `policies` program array. It is
 * attached through a bpf link the first time a policy needs the interface and detached when
 * the last lease is released, so this process shares one per interface (per network
 * namespace) between all its XDP deployments, whatever their hook: xdp-skb and xdp-drv
 * policies and cpu-redirect policies tail-called from the same root. A device runs XDP in one
 * mode at a time, so a dispatcher serves one mode.
 *
 * Adding a policy never disturbs the others: its program goes into a free slot first and
 * only then is its port routed there; removing one unroutes the port before emptying the slot.
 */
export class XdpDispatcher {
  readonly ifname: string;
  readonly ifindex: number;
  readonly netns: string | undefined;
  readonly mode: DispatcherMode;
  readonly program: Program;
  readonly routes: KernelMap;
  readonly policies: ProgArray;
  readonly #link: XdpLink;
  readonly #key: string;
  readonly #ports = new Map<number, number>();
  /** Where `persist` pinned this dispatcher, and what (pin -> object id). */
  #pinDir: string | undefined;
  #sharedDir: string | undefined;
  readonly #pinned = new Map<string, number>();
  #records: readonly PinnedObject[] = [];
  readonly #routeKey = new Uint8Array(4);
  readonly #routeValue = new Uint8Array(ROUTE_VALUE_SIZE);

  private constructor(
    key: string,
    options: { ifname: string; ifindex: number; netns: string | undefined; mode: DispatcherMode },
    program: Program,
    routes: KernelMap,
    policies: ProgArray,
    link: XdpLink,
  ) {
    this.#key = key;
    this.ifname = options.ifname;
    this.ifindex = options.ifindex;
    this.netns = options.netns;
    this.mode = options.mode;
    this.program = program;
    this.routes = routes;
    this.policies = policies;
    this.#link = link;
  }

  /**
   * Leases a slot for `port` (optionally bound to one RX `queue`) on the interface's
   * dispatcher, attaching one first if none runs. The port is not routed until the lease
   * installs a program.
   */
  static lease(options: AcquireDispatcherOptions & { port: number; queue?: number }): DispatcherLease {
    const key = `${networkNamespaceIdentity(options.netns)}/${options.ifindex}`;
    const where = `'${options.ifname}'${options.netns === undefined ? '' : ` in network namespace '${options.netns}'`}`;
    // A dispatcher this process pinned and let go of (its deployments released) is found again through its pins.
    let dispatcher = dispatchers.get(key) ?? XdpDispatcher.#unpark(key, options.sys ?? nativeSyscalls());
    if (dispatcher !== undefined && options.mode !== 'prefer-drv' && dispatcher.mode !== options.mode) {
      throw new XdpHookError(
        'XDP_MODE_CONFLICT',
        `${where} already runs the Syrup dispatcher in ${dispatcher.mode} mode, and a device runs XDP in one mode at a time, so a ${options.mode}-mode policy cannot join it.`,
      );
    }
    if (dispatcher !== undefined && dispatcher.#ports.has(options.port)) {
      throw new XdpHookError('XDP_PORT_TAKEN', `UDP port ${options.port} on ${where} is already served by another policy.`);
    }
    dispatcher ??= XdpDispatcher.#attach(key, options, where);
    return dispatcher.#lease(options.port, options.queue);
  }

  /**
   * The dispatcher a persisted deployment recorded, for its restore: the one this process runs
   * on that interface (its objects must be the recorded ones), or the pinned one opened again,
   * each pin checked against the record (`RESTORE_UNTRUSTED` otherwise). A dispatcher whose
   * link was detached meanwhile (the interface went away) has its pins removed and is
   * `RESTORE_TARGET_GONE`. Opening one also removes the routes of AF_XDP policies: their
   * sockets belonged to the process that stopped, so nothing can serve those ports any more.
   * The caller claims its route with `claim`, or calls `leaveIfIdle` when it does not.
   */
  static restore(location: DispatcherLocation, sys: Syscalls): XdpDispatcher {
    const key = `${location.netnsId}/${location.ifindex}`;
    const running = dispatchers.get(key);
    if (running === undefined) return XdpDispatcher.#open(key, location, sys);
    const expect = (pin: string, id: number): void => {
      const object = location.pins.objects.find((o) => o.pin === pin);
      if (object === undefined || object.id !== id) {
        throw new RestoreError('RESTORE_UNTRUSTED', `the dispatcher on '${running.ifname}' that runs now is not the one the state file recorded (its ${pin} differs), so the deployment is not trusted.`);
      }
    };
    expect(LINK_PIN, running.#link.info().id);
    expect(ROUTES_PIN, running.routes.info().id);
    expect(POLICIES_PIN, running.policies.kernelMap.info().id);
    return running;
  }

  /** The dispatcher this process runs on an interface, if any (for tests and diagnostics). */
  static running(ifindex: number, netns?: string): XdpDispatcher | undefined {
    return dispatchers.get(`${networkNamespaceIdentity(netns)}/${ifindex}`);
  }

  /** Ports with a lease, and their slots. */
  get ports(): ReadonlyMap<number, number> {
    return this.#ports;
  }

  /** The link's id and the attached program's id, as the kernel reports them. */
  linkInfo(): ReturnType<XdpLink['info']> {
    return this.#link.info();
  }

  static #attach(key: string, options: AcquireDispatcherOptions, where: string): XdpDispatcher {
    const sys = options.sys ?? nativeSyscalls();
    const owned: Disposable[] = [];
    try {
      const routes = KernelMap.create(
        { type: MapType.HASH, keySize: 4, valueSize: ROUTE_VALUE_SIZE, maxEntries: DISPATCHER_SLOTS, name: 'syrup_routes' },
        { sys },
      );
      owned.push(routes);
      const policies = ProgArray.create({ maxEntries: DISPATCHER_SLOTS, name: 'syrup_policies' }, { sys });
      owned.push(policies);
      const program = Program.load(
        {
          name: 'syrup_dispatch',
          type: ProgType.XDP,
          // The policies it tail-calls are loaded for BPF_XDP too; a program array takes one kind.
          expectedAttachType: AttachType.XDP,
          license: 'Dual BSD/GPL',
          instructions: dispatcherInstructions(),
          maps: new Map<string, KernelMap>([
            [DISPATCHER_MAP_NAMES.routes, routes],
            [DISPATCHER_MAP_NAMES.policies, policies.kernelMap],
          ]),
        },
        { sys },
      );
      owned.push(program);
      const attach = (mode: DispatcherMode): XdpLink =>
        attachXdp({ program, ifindex: options.ifindex, mode, ...(options.netns === undefined ? {} : { netns: options.netns }), sys });
      let mode: DispatcherMode = options.mode === 'prefer-drv' ? 'drv' : options.mode;
      let link: XdpLink;
      try {
        link = attach(mode);
      } catch (error) {
        if (!(options.mode === 'prefer-drv' && error instanceof LinkError && (error.cause as { code?: string } | undefined)?.code === 'EOPNOTSUPP')) {
          throw attachRefusal(error, where, mode);
        }
        mode = 'skb';
        try {
          link = attach(mode);
        } catch (again) {
          throw attachRefusal(again, where, mode);
        }
      }
      const dispatcher = new XdpDispatcher(key, { ifname: options.ifname, ifindex: options.ifindex, netns: options.netns, mode }, program, routes, policies, link);
      dispatchers.set(key, dispatcher);
      return dispatcher;
    } catch (error) {
      for (const resource of owned.reverse()) resource[Symbol.dispose]();
      throw error;
    }
  }

  /**
   * Pins the link, the root program and the two maps in `<sharedDir>/xdp-<netns>-<ifindex>/`
   * (root's, 0600, in a 0700 directory) once, and returns what a record keeps of them. The
   * pinned link keeps the dispatcher attached, and the pinned program array keeps its slots
   * (the kernel empties a program array when no fd or pin refers to it any more), after every
   * fd of this process is closed.
   */
  persist(sharedDir: string): DispatcherPins {
    const name = dispatcherDirName(this.#key);
    const path = join(sharedDir, name);
    if (this.#pinDir !== undefined && this.#pinDir !== path) this.#unpin();
    mkdirMode(sharedDir, SHARED_DIR_MODE);
    mkdirMode(path, DISPATCHER_DIR_MODE);
    const sys = this.#link.sys;
    const link = this.#link.info();
    const program = this.program.info();
    const routes = this.routes.info().id;
    const policies = this.policies.kernelMap.info().id;
    this.#pinDir = path;
    this.#sharedDir = sharedDir;
    pinAt(this.#link.fd, path, LINK_PIN, link.id, this.#pinned, sys);
    pinAt(this.program.fd, path, PROGRAM_PIN, program.id, this.#pinned, sys);
    pinAt(this.routes.fd, path, ROUTES_PIN, routes, this.#pinned, sys);
    pinAt(this.policies.fd, path, POLICIES_PIN, policies, this.#pinned, sys);
    this.#records = [
      { pin: LINK_PIN, kind: 'link', role: 'dispatcher-link', id: link.id },
      { pin: PROGRAM_PIN, kind: 'prog', role: 'dispatcher', id: program.id, tag: program.tag },
      { pin: ROUTES_PIN, kind: 'map', role: 'routes', id: routes },
      { pin: POLICIES_PIN, kind: 'map', role: 'policies', id: policies },
    ];
    return { dir: name, objects: this.#records };
  }

  /** The identity of the interface's network namespace (see `networkNamespaceIdentity`). */
  get netnsId(): string {
    return this.#key.slice(0, this.#key.lastIndexOf('/'));
  }

  /** Whether `persist` pinned this dispatcher. */
  get pinned(): boolean {
    return this.#pinDir !== undefined;
  }

  /**
   * Takes back the lease of a restored deployment: its port must be routed to `slot` (for
   * every queue), else the deployment is not trusted. The slot normally holds the recorded
   * program already (nothing changes then); when it holds another one, a daemon died in the
   * middle of a replace, after the swap and before the record, and the recorded `program` (its
   * identity checked by the caller) goes back in the slot, so what runs is what is recorded.
   */
  claim(port: number, slot: number, program: Program): DispatcherLease {
    const route = this.#routeOf(port);
    if (route === undefined || route.slot !== slot || route.queue !== 0) {
      throw new RestoreError(
        'RESTORE_UNTRUSTED',
        `the dispatcher on '${this.ifname}' routes UDP port ${port} ${route === undefined ? 'nowhere' : `to slot ${route.slot}${route.queue === 0 ? '' : ` for queue ${route.queue - 1}`}`}, not to slot ${slot} as the state file recorded, so the deployment is not trusted.`,
      );
    }
    if (this.#ports.has(port)) throw new RestoreError('RESTORE_FAILED', `UDP port ${port} on '${this.ifname}' already has a deployment in this process.`);
    if (this.policies.get(slot) !== program.info().id) this.policies.set(slot, program);
    return this.#newLease(port, slot, undefined, true);
  }

  /**
   * Undoes the route of `port` that a daemon which died in the middle of a deploy (or of an
   * undeploy it could not restore) left on the interface's dispatcher: the port is unrouted
   * and its slot emptied, unless a deployment of this process holds the port. The dispatcher
   * is the one this process runs there (recovery restored a deployment on it) or, failing
   * that, the one pinned under `sharedDir` by our naming, which is detached and unpinned when
   * no route is left. A dispatcher that was never pinned closed with the daemon that attached
   * it, and an interface that is gone took its XDP program with it: nothing to undo then.
   */
  static abandonRoute(options: { ifname: string; netns: string | undefined; port: number; sharedDir: string; sys: Syscalls }): void {
    const { ifname, netns, port, sys } = options;
    let ifindex: number;
    try {
      const lookup = (): number => interfaceIndex(ifname, { sys });
      ifindex = netns === undefined ? lookup() : inNetworkNamespace(netns, lookup, { sys });
    } catch (error) {
      if (error instanceof LinkError && (error.code === 'INTERFACE_NOT_FOUND' || error.code === 'NETNS_FAILED')) return;
      throw error;
    }
    const key = `${networkNamespaceIdentity(netns)}/${ifindex}`;
    const running = dispatchers.get(key);
    if (running !== undefined) {
      if (!running.#ports.has(port)) running.#dropRoute(port);
      return;
    }
    const base = join(options.sharedDir, dispatcherDirName(key));
    if (!existsSync(join(base, ROUTES_PIN))) return;
    const opened: Disposable[] = [];
    try {
      const routesMap = KernelMap.fromFd(openPinned(join(base, ROUTES_PIN), { sys }), { sys });
      opened.push(routesMap);
      const policiesMap = KernelMap.fromFd(openPinned(join(base, POLICIES_PIN), { sys }), { sys });
      opened.push(policiesMap);
      if (routesMap.spec.type !== MapType.HASH || routesMap.spec.valueSize !== ROUTE_VALUE_SIZE || policiesMap.spec.type !== MapType.PROG_ARRAY) {
        throw new RestoreError('RESTORE_UNTRUSTED', `the pins in ${base} are not a Syrup dispatcher's routes and policies, so they are left alone.`);
      }
      const key4 = new Uint8Array(4);
      new DataView(key4.buffer).setUint32(0, port, true);
      const value = routesMap.lookup(key4);
      if (value !== undefined) {
        routesMap.delete(key4);
        policiesMap.delete(new Uint8Array(new Uint32Array([new DataView(value.buffer, value.byteOffset).getUint32(0, true)]).buffer));
      }
      if (routesMap.nextKey() !== undefined) return;
      // No port is routed any more: the dispatcher goes, as when its last lease is released.
      if (existsSync(join(base, LINK_PIN))) {
        const link = XdpLink.fromFd(openPinned(join(base, LINK_PIN), { sys }), { sys });
        opened.push(link);
        link.detach();
      }
      for (const pin of [LINK_PIN, PROGRAM_PIN, ROUTES_PIN, POLICIES_PIN]) unpin(join(base, pin));
      try {
        rmdirSync(base);
      } catch {
        // Not empty (something else was put there): left as it is.
      }
    } finally {
      for (const object of opened.reverse()) object[Symbol.dispose]();
    }
  }

  /** Unroutes `port` and empties its slot, when the kernel routes it (see `abandonRoute`). */
  #dropRoute(port: number): void {
    const route = this.#routeOf(port);
    if (route === undefined) return;
    this.#unroute(port);
    this.policies.delete(route.slot);
  }

  /** Drops this dispatcher when no lease holds it (a restore that found it but did not claim a route). */
  leaveIfIdle(): void {
    if (this.#ports.size === 0) this.#idle();
  }

  #lease(port: number, queue: number | undefined): DispatcherLease {
    let slot = 0;
    // Slots routed in the kernel are taken too: deployments kept from before (released, or not restored).
    const used = new Set([...this.#ports.values(), ...[...this.#kernelRoutes().values()].map((r) => r.slot)]);
    while (used.has(slot)) slot++;
    if (slot >= DISPATCHER_SLOTS) {
      throw new XdpHookError('XDP_DISPATCHER_FULL', `the dispatcher on '${this.ifname}' already serves ${DISPATCHER_SLOTS} ports, its limit.`);
    }
    return this.#newLease(port, slot, queue, false);
  }

  #newLease(port: number, slot: number, queue: number | undefined, alreadyRouted: boolean): DispatcherLease {
    this.#ports.set(port, slot);
    let routed = alreadyRouted;
    let released = false;
    return {
      dispatcher: this,
      port,
      slot,
      install: (program) => {
        if (released) throw new XdpHookError('XDP_CLOSED', `the lease of port ${port} on '${this.ifname}' was released.`);
        this.policies.set(slot, program);
        if (!routed) {
          crashPoint('xdp-after-install');
          this.#route(port, slot, queue);
          crashPoint('xdp-after-route');
          routed = true;
        }
      },
      release: () => {
        if (released) return;
        released = true;
        try {
          if (routed) this.#unroute(port);
          this.policies.delete(slot);
        } finally {
          this.#ports.delete(port);
          if (this.#ports.size === 0) this.#idle();
        }
      },
      letGo: () => {
        if (released) return;
        released = true;
        this.#ports.delete(port);
        if (this.#ports.size === 0) this.#idle();
      },
    };
  }

  /** Every route in the kernel's `routes` map: port -> slot and queue field (0: every queue, else queue + 1). */
  #kernelRoutes(): Map<number, { slot: number; queue: number }> {
    const out = new Map<number, { slot: number; queue: number }>();
    let key: Uint8Array | undefined;
    for (let n = 0; n <= DISPATCHER_SLOTS * 2 && (key = this.routes.nextKey(key)) !== undefined; n++) {
      const value = this.routes.lookup(key);
      if (value === undefined) continue;
      const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
      out.set(new DataView(key.buffer, key.byteOffset, key.byteLength).getUint32(0, true), { slot: view.getUint32(0, true), queue: view.getUint32(4, true) });
    }
    return out;
  }

  #routeOf(port: number): { slot: number; queue: number } | undefined {
    new DataView(this.#routeKey.buffer).setUint32(0, port, true);
    const value = this.routes.lookup(this.#routeKey);
    if (value === undefined) return undefined;
    const view = new DataView(value.buffer, value.byteOffset, value.byteLength);
    return { slot: view.getUint32(0, true), queue: view.getUint32(4, true) };
  }

  /**
   * No lease holds the dispatcher any more. Pinned and still routing ports (deployments kept
   * for a restart, or left alone by a recovery), it stays attached and only this process's fds
   * go; otherwise it is detached and its pins removed.
   */
  #idle(): void {
    if (this.#pinDir !== undefined && this.routes.nextKey() !== undefined) {
      parked.set(this.#key, this.#location());
      if (dispatchers.get(this.#key) === this) dispatchers.delete(this.#key);
      this.#link.close();
      this.program.close();
      this.policies.close();
      this.routes.close();
      return;
    }
    this.#close();
  }

  #location(): DispatcherLocation {
    return {
      ifname: this.ifname,
      ifindex: this.ifindex,
      netns: this.netns,
      netnsId: this.netnsId,
      mode: this.mode,
      sharedDir: this.#sharedDir as string,
      pins: { dir: (this.#pinDir as string).slice((this.#sharedDir as string).length + 1), objects: this.#records },
    };
  }

  #unpin(): void {
    const dir = this.#pinDir;
    if (dir === undefined) return;
    unpinEvery(dir, this.#pinned);
    this.#pinDir = undefined;
    try {
      rmdirSync(dir);
    } catch {
      // Not empty (something else was put there) or already gone: left as it is.
    }
  }

  /** A dispatcher this process pinned and parked, opened again from its pins; undefined when that fails (then a fresh attach says why). */
  static #unpark(key: string, sys: Syscalls): XdpDispatcher | undefined {
    const location = parked.get(key);
    if (location === undefined) return undefined;
    try {
      return XdpDispatcher.#open(key, location, sys);
    } catch {
      parked.delete(key);
      return undefined;
    }
  }

  /** Opens a pinned dispatcher and checks every pin against the record (see `restore`). */
  static #open(key: string, location: DispatcherLocation, sys: Syscalls): XdpDispatcher {
    const base = join(location.sharedDir, location.pins.dir);
    const what = `XDP dispatcher`;
    const opened: Disposable[] = [];
    const close = (): void => {
      for (const object of opened.reverse()) object[Symbol.dispose]();
    };
    try {
      if (location.pins.dir.includes('/') || location.pins.dir.startsWith('.')) throw new RestoreError('RESTORE_FAILED', `'${location.pins.dir}' is not a directory name.`);
      const linkRecord = recordOf(location.pins.objects, 'dispatcher-link', 'link', what);
      const programRecord = recordOf(location.pins.objects, 'dispatcher', 'prog', what);
      const routesRecord = recordOf(location.pins.objects, 'routes', 'map', what);
      const policiesRecord = recordOf(location.pins.objects, 'policies', 'map', what);
      let linkFd;
      try {
        linkFd = openRecorded(base, linkRecord, sys);
      } catch (error) {
        if (interfaceGone(location, sys)) {
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
      opened.push(link);
      const linkInfo = link.info();
      expectRecorded(linkRecord, linkInfo.id);
      if (linkInfo.progId !== programRecord.id) distrust(linkRecord, `runs program ${linkInfo.progId}, not the recorded dispatcher ${programRecord.id}`);

      const program = Program.fromFd(openRecorded(base, programRecord, sys), { sys });
      opened.push(program);
      const programInfo = program.info({ mapIds: true });
      expectRecorded(programRecord, programInfo.id, programInfo.tag);
      if (programInfo.type !== ProgType.XDP) distrust(programRecord, `is program type ${programInfo.type}, not XDP`);

      const routes = KernelMap.fromFd(openRecorded(base, routesRecord, sys), { sys });
      opened.push(routes);
      expectRecorded(routesRecord, routes.info().id);
      if (routes.spec.type !== MapType.HASH || routes.spec.keySize !== 4 || routes.spec.valueSize !== ROUTE_VALUE_SIZE) distrust(routesRecord, 'is not a routes hash');

      const policiesMap = KernelMap.fromFd(openRecorded(base, policiesRecord, sys), { sys });
      opened.push(policiesMap);
      expectRecorded(policiesRecord, policiesMap.info().id);
      if (policiesMap.spec.type !== MapType.PROG_ARRAY) distrust(policiesRecord, 'is not a program array');
      opened.pop();
      const policies = ProgArray.fromKernelMap(policiesMap);
      opened.push(policies);
      for (const object of [routesRecord, policiesRecord]) {
        if (!programInfo.mapIds.includes(object.id)) distrust(object, `is not a map of the dispatcher program ${programInfo.id}`);
      }

      // Trusted. A link whose device went away is detached (ifindex 0): nothing is left to serve.
      if (linkInfo.ifindex !== location.ifindex) {
        close();
        for (const pin of [LINK_PIN, PROGRAM_PIN, ROUTES_PIN, POLICIES_PIN]) unpin(join(base, pin));
        try {
          rmdirSync(base);
        } catch {
          // Left as it is.
        }
        parked.delete(key);
        throw new RestoreError('RESTORE_TARGET_GONE', `interface '${location.ifname}' (ifindex ${location.ifindex}) went away, and its dispatcher with it.`);
      }
      const dispatcher = new XdpDispatcher(key, { ifname: location.ifname, ifindex: location.ifindex, netns: location.netns, mode: location.mode }, program, routes, policies, link);
      dispatcher.#pinDir = base;
      dispatcher.#sharedDir = location.sharedDir;
      for (const object of location.pins.objects) dispatcher.#pinned.set(object.pin, object.id);
      dispatcher.#records = location.pins.objects;
      dispatcher.#sweepAfXdpRoutes();
      dispatchers.set(key, dispatcher);
      parked.delete(key);
      return dispatcher;
    } catch (error) {
      close();
      throw error;
    }
  }

  /**
   * Removes routes bound to one RX queue: only AF_XDP policies have them, and their sockets
   * were the previous process's, so none of them can be served (their policies would find no
   * socket and pass every frame). A dispatcher opened from its pins has no such lease.
   */
  #sweepAfXdpRoutes(): void {
    for (const [port, route] of this.#kernelRoutes()) {
      if (route.queue === 0) continue;
      this.#unroute(port);
      this.policies.delete(route.slot);
    }
  }

  #route(port: number, slot: number, queue: number | undefined): void {
    new DataView(this.#routeKey.buffer).setUint32(0, port, true);
    const value = new DataView(this.#routeValue.buffer);
    value.setUint32(0, slot, true);
    value.setUint32(4, queue === undefined ? 0 : queue + 1, true);
    this.routes.update(this.#routeKey, this.#routeValue, UpdateFlag.ANY);
  }

  #unroute(port: number): void {
    new DataView(this.#routeKey.buffer).setUint32(0, port, true);
    this.routes.delete(this.#routeKey);
  }

  /** Detaches the root program, removes its pins and frees its maps (the last lease is gone). */
  #close(): void {
    if (dispatchers.get(this.#key) === this) dispatchers.delete(this.#key);
    parked.delete(this.#key);
    if (this.#pinDir !== undefined) {
      this.#unpin();
      // Whoever else holds the link (bpftool, a stale fd) does not keep it attached.
      this.#link.detach();
    }
    this.#link.close();
    this.program.close();
    this.policies.close();
    this.routes.close();
  }
}

/** The directory of a dispatcher's pins under the shared pin directory: `xdp-<netns>-<ifindex>`. */
function dispatcherDirName(key: string): string {
  return `xdp-${key.replace(/[:/]/g, '-')}`;
}

function attachRefusal(error: unknown, where: string, mode: DispatcherMode): XdpHookError {
  if (!(error instanceof LinkError)) return new XdpHookError('XDP_ATTACH_FAILED', `cannot attach the Syrup dispatcher to ${where}: ${(error as Error).message}`, { cause: error });
  const code = (error.cause as { code?: string } | undefined)?.code;
  const reason =
    code === 'EBUSY' || code === 'EEXIST'
      ? 'another XDP program is already attached to it'
      : code === 'EOPNOTSUPP'
        ? `its driver has no ${mode === 'drv' ? 'native (drv)' : 'generic (skb)'} XDP support`
        : error.message.replace(/\.$/, '');
  return new XdpHookError('XDP_ATTACH_FAILED', `cannot attach the Syrup dispatcher to ${where} in ${mode} mode: ${reason}.`, { cause: error });
}

/** Whether the recorded interface is gone: its namespace, or a device of that name and index in it. */
function interfaceGone(location: DispatcherLocation, sys: Syscalls): boolean {
  try {
    if (networkNamespaceIdentity(location.netns) !== location.netnsId) return true;
    const lookup = (): number => interfaceIndex(location.ifname, { sys });
    return (location.netns === undefined ? lookup() : inNetworkNamespace(location.netns, lookup, { sys })) !== location.ifindex;
  } catch (error) {
    if (error instanceof LinkError && (error.code === 'INTERFACE_NOT_FOUND' || error.code === 'NETNS_FAILED')) return true;
    throw error;
  }
}
