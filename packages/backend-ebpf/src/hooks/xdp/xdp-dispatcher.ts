import { RestoreError } from '@syrup/core';
import type { XdpLink } from '../../links/xdp-link.js';
import type { KernelMap } from '../../maps/kernel-map.js';
import type { ProgArray } from '../../maps/system/prog-array.js';
import type { Program } from '../../programs/program.js';
import { closeDispatcherObjects, type DispatcherObjects } from './dispatcher-attach.js';
import { DispatcherLease, type LeaseHolder } from './dispatcher-lease.js';
import { DISPATCHER_SLOTS, dispatcherDirName, type DispatcherLocation, type DispatcherMode, type DispatcherPins } from './dispatcher-location.js';
import { DispatcherPinSet, LINK_PIN, POLICIES_PIN, ROUTES_PIN } from './dispatcher-pins.js';
import { RouteTable } from './route-table.js';
import { XdpHookError } from './xdp-hook-error.js';

/** How a dispatcher tells the registry that made it (`XdpDispatchers`) that it stops running in this process. */
export interface DispatcherOwner {
  /** No lease holds `dispatcher`, which stays attached through its pins: a later lease or restore opens `location` again. */
  park(key: string, dispatcher: XdpDispatcher, location: DispatcherLocation): void;
  /** `dispatcher` is detached and its pins removed. */
  forget(key: string, dispatcher: XdpDispatcher): void;
}

/**
 * The root XDP program of one interface and the maps through which it serves many policies:
 * a `routes` hash (UDP destination port -> slot, queue) and a `policies` program array. It is
 * attached through a bpf link the first time a policy needs the interface and detached when
 * the last lease is closed, so a backend shares one per interface (per network namespace)
 * between all its XDP deployments, whatever their hook: xdp-skb and xdp-drv policies and
 * cpu-redirect policies tail-called from the same root. A device runs XDP in one mode at a
 * time, so a dispatcher serves one mode. `XdpDispatchers` makes them and finds them again.
 *
 * Adding a policy never disturbs the others: its program goes into a free slot first and
 * only then is its port routed there; removing one unroutes the port before emptying the slot.
 */
export class XdpDispatcher implements LeaseHolder {
  readonly ifname: string;
  readonly ifindex: number;
  readonly netns: string | undefined;
  readonly mode: DispatcherMode;
  readonly program: Program;
  readonly routes: KernelMap;
  readonly routeTable: RouteTable;
  readonly policies: ProgArray;
  readonly #link: XdpLink;
  readonly #key: string;
  readonly #owner: DispatcherOwner;
  /** Ports with a lease in this process -> their slots. */
  readonly #ports = new Map<number, number>();
  readonly #pins: DispatcherPinSet;

  /** @internal Made by `XdpDispatchers`, which owns it; takes ownership of `objects`. */
  constructor(
    key: string,
    where: { readonly ifname: string; readonly ifindex: number; readonly netns: string | undefined },
    objects: DispatcherObjects,
    owner: DispatcherOwner,
    pins: DispatcherPinSet = new DispatcherPinSet(),
  ) {
    this.#key = key;
    this.ifname = where.ifname;
    this.ifindex = where.ifindex;
    this.netns = where.netns;
    this.mode = objects.mode;
    this.program = objects.program;
    this.routes = objects.routes;
    this.routeTable = new RouteTable(objects.routes);
    this.policies = objects.policies;
    this.#link = objects.link;
    this.#owner = owner;
    this.#pins = pins;
  }

  /** Ports with a lease, and their slots. */
  get ports(): ReadonlyMap<number, number> {
    return this.#ports;
  }

  /** Whether a lease of this process holds `port`. */
  serves(port: number): boolean {
    return this.#ports.has(port);
  }

  /** The link's id and the attached program's id, as the kernel reports them. */
  linkInfo(): ReturnType<XdpLink['info']> {
    return this.#link.info();
  }

  /** The identity of the interface's network namespace (see `networkNamespaceIdentity`). */
  get netnsId(): string {
    return this.#key.slice(0, this.#key.lastIndexOf('/'));
  }

  /** Whether `persist` pinned this dispatcher. */
  get pinned(): boolean {
    return this.#pins.pinned;
  }

  /**
   * A free slot for `port` (optionally bound to one RX `queue`). The port is not routed until
   * the lease installs a program.
   */
  lease(port: number, queue: number | undefined): DispatcherLease<XdpDispatcher> {
    let slot = 0;
    // Slots routed in the kernel are taken too: deployments kept from before (released, or not restored).
    const used = new Set([...this.#ports.values(), ...[...this.routeTable.all().values()].map((r) => r.slot)]);
    while (used.has(slot)) slot++;
    if (slot >= DISPATCHER_SLOTS) {
      throw new XdpHookError('XDP_DISPATCHER_FULL', `the dispatcher on '${this.ifname}' already serves ${DISPATCHER_SLOTS} ports, its limit.`);
    }
    this.#ports.set(port, slot);
    return new DispatcherLease(this, port, slot, queue, false);
  }

  /**
   * Takes back the lease of a restored deployment: its port must be routed to `slot` (for
   * every queue), else the deployment is not trusted. The slot normally holds the recorded
   * program already (nothing changes then); when it holds another one, a daemon died in the
   * middle of a replace, after the swap and before the record, and the recorded `program` (its
   * identity checked by the caller) goes back in the slot, so what runs is what is recorded.
   */
  claim(port: number, slot: number, program: Program): DispatcherLease<XdpDispatcher> {
    const route = this.routeTable.routeOf(port);
    if (route === undefined || route.slot !== slot || route.queue !== 0) {
      throw new RestoreError(
        'RESTORE_UNTRUSTED',
        `the dispatcher on '${this.ifname}' routes UDP port ${port} ${route === undefined ? 'nowhere' : `to slot ${route.slot}${route.queue === 0 ? '' : ` for queue ${route.queue - 1}`}`}, not to slot ${slot} as the state file recorded, so the deployment is not trusted.`,
      );
    }
    if (this.#ports.has(port)) throw new RestoreError('RESTORE_FAILED', `UDP port ${port} on '${this.ifname}' already has a deployment in this process.`);
    if (this.policies.get(slot) !== program.info().id) this.policies.set(slot, program);
    this.#ports.set(port, slot);
    return new DispatcherLease(this, port, slot, undefined, true);
  }

  /**
   * `RESTORE_UNTRUSTED` unless this running dispatcher is the one `location` recorded: the same
   * link and maps, by id.
   */
  expectRecorded(location: DispatcherLocation): void {
    const expect = (pin: string, id: number): void => {
      const object = location.pins.objects.find((o) => o.pin === pin);
      if (object === undefined || object.id !== id) {
        throw new RestoreError('RESTORE_UNTRUSTED', `the dispatcher on '${this.ifname}' that runs now is not the one the state file recorded (its ${pin} differs), so the deployment is not trusted.`);
      }
    };
    expect(LINK_PIN, this.#link.info().id);
    expect(ROUTES_PIN, this.routes.info().id);
    expect(POLICIES_PIN, this.policies.kernelMap.info().id);
  }

  /**
   * Pins the link, the root program and the two maps in `<sharedDir>/xdp-<netns>-<ifindex>/`
   * once (see `DispatcherPinSet`), and returns what a record keeps of them.
   */
  persist(sharedDir: string): DispatcherPins {
    return this.#pins.pin({ link: this.#link, program: this.program, routes: this.routes, policies: this.policies, mode: this.mode }, sharedDir, dispatcherDirName(this.#key));
  }

  /** Unroutes `port` and empties its slot when the kernel routes it and no lease of this process holds it (see `XdpDispatchers.abandonRoute`). */
  abandonRoute(port: number): void {
    if (this.#ports.has(port)) return;
    const route = this.routeTable.routeOf(port);
    if (route === undefined) return;
    this.routeTable.unroute(port);
    this.policies.delete(route.slot);
  }

  /**
   * Removes routes bound to one RX queue: only AF_XDP policies have them, and their sockets
   * were the previous process's, so none of them can be served (their policies would find no
   * socket and pass every frame). A dispatcher opened from its pins has no such lease.
   */
  sweepAfXdpRoutes(): void {
    for (const [port, route] of this.routeTable.all()) {
      if (route.queue === 0) continue;
      this.routeTable.unroute(port);
      this.policies.delete(route.slot);
    }
  }

  /** Drops this dispatcher when no lease holds it (a restore that found it but did not claim a route). */
  leaveIfIdle(): void {
    if (this.#ports.size === 0) this.#idle();
  }

  /** @internal The lease of `port` ended (see `LeaseHolder`). */
  leave(port: number): void {
    this.#ports.delete(port);
    if (this.#ports.size === 0) this.#idle();
  }

  /**
   * No lease holds the dispatcher any more. Pinned and still routing ports (deployments kept
   * for a restart, or left alone by a recovery), it stays attached and only this process's fds
   * go; otherwise it is detached and its pins removed.
   */
  #idle(): void {
    const pinnedAt = this.#pins.where();
    if (pinnedAt !== undefined && !this.routeTable.empty) {
      this.#owner.park(this.#key, this, { ifname: this.ifname, ifindex: this.ifindex, netns: this.netns, netnsId: this.netnsId, mode: this.mode, ...pinnedAt });
      this.#closeFds();
      return;
    }
    this.#close();
  }

  /** Detaches the root program, removes its pins and frees its maps (the last lease is gone). */
  #close(): void {
    this.#owner.forget(this.#key, this);
    if (this.#pins.pinned) {
      this.#pins.remove();
      // Whoever else holds the link (bpftool, a stale fd) does not keep it attached.
      this.#link.detach();
    }
    this.#closeFds();
  }

  #closeFds(): void {
    closeDispatcherObjects({ link: this.#link, program: this.program, routes: this.routes, policies: this.policies, mode: this.mode });
  }
}
