import { LinkError } from '../../links/link-error.js';
import { networkNamespaceIdentity } from '../../links/network-namespace-identity.js';
import { attachXdp, type XdpLink } from '../../links/xdp-link.js';
import { KernelMap } from '../../maps/kernel-map.js';
import { ProgArray } from '../../maps/system/prog-array.js';
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
}

const dispatchers = new Map<string, XdpDispatcher>();

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
    let dispatcher = dispatchers.get(key);
    const where = `'${options.ifname}'${options.netns === undefined ? '' : ` in network namespace '${options.netns}'`}`;
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

  #lease(port: number, queue: number | undefined): DispatcherLease {
    let slot = 0;
    const used = new Set(this.#ports.values());
    while (used.has(slot)) slot++;
    if (slot >= DISPATCHER_SLOTS) {
      throw new XdpHookError('XDP_DISPATCHER_FULL', `the dispatcher on '${this.ifname}' already serves ${DISPATCHER_SLOTS} ports, its limit.`);
    }
    this.#ports.set(port, slot);
    let routed = false;
    let released = false;
    return {
      dispatcher: this,
      port,
      slot,
      install: (program) => {
        if (released) throw new XdpHookError('XDP_CLOSED', `the lease of port ${port} on '${this.ifname}' was released.`);
        this.policies.set(slot, program);
        if (!routed) {
          this.#route(port, slot, queue);
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
          if (this.#ports.size === 0) this.#close();
        }
      },
    };
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

  /** Detaches the root program and frees its maps (the last lease is gone). */
  #close(): void {
    if (dispatchers.get(this.#key) === this) dispatchers.delete(this.#key);
    this.#link.close();
    this.program.close();
    this.policies.close();
    this.routes.close();
  }
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
