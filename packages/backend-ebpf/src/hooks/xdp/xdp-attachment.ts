import { join } from 'node:path';
import type { DataMapStore } from '@syrup/maps';
import type { Artifact, Attachment, JsonValue, PersistedAttachment, PersistenceLocation, SharedMaps } from '@syrup/core';
import type { ProgramSpec } from '../../codegen/program-spec.js';
import { SYSTEM_MAP_NAMES } from '../../codegen/epilogues.js';
import { LinkError } from '../../links/link-error.js';
import { interfaceIndex } from '../../links/interface-index.js';
import { inNetworkNamespace } from '../../links/network-namespace.js';
import { networkNamespaceIdentity } from '../../links/network-namespace-identity.js';
import { LoadedProgram, loadProgramSpecAsync } from '../../loader/loaded-program.js';
import { KernelDataMapStore } from '../../maps/kernel-data-map-store.js';
import { CpuMap } from '../../maps/system/cpu-map.js';
import { XskMap } from '../../maps/system/xsk-map.js';
import { unpin } from '../../pin/pin.js';
import { pinPath } from '../../pin/pin-path.js';
import { commitPins, mkdirMode, pinAt, unpinEvery, type PendingPins } from '../../pin/pinned-objects.js';
import { pinDirectoriesOf, toObjectRecord, type PinnedObject } from '../../pin/pinned-object.js';
import type { Fd } from '../../fd.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { XskError } from '../../xsk/xsk-error.js';
import type { XskSocket } from '../../xsk/xsk-socket.js';
import { XskSocketGroup } from '../../xsk/xsk-socket-group.js';
import type { EbpfArtifact } from '../network-hook.js';
import { ownedMaps, planDataMaps, type DataMapPlan } from '../plan-data-maps.js';
import { onlineCpus } from './online-cpus.js';
import type { DispatcherLease } from './dispatcher-lease.js';
import type { DispatcherMode, DispatcherPins } from './dispatcher-location.js';
import type { XdpDispatcher } from './xdp-dispatcher.js';
import type { XdpDispatchers } from './xdp-dispatchers.js';
import { XdpHookError } from './xdp-hook-error.js';
import { takeProcessXskSockets } from './process-xsk-sockets.js';
import { TargetProcessWatch } from '../target-process-watch.js';
import type { XdpHookId, XdpTarget } from './xdp-target.js';

export const PROGRAM_PIN = 'prog';
export const EXECUTORS_PIN = 'executors';
export const MAPS_DIR = 'maps';

export interface OpenXdpAttachmentOptions {
  readonly hook: XdpHookId;
  readonly artifact: EbpfArtifact;
  readonly target: XdpTarget;
  readonly sharedMaps?: SharedMaps;
  /** The backend's dispatchers, one per interface, which the policy joins. */
  readonly dispatchers: XdpDispatchers;
  readonly sys: Syscalls;
}

/**
 * A policy attached at an XDP hook behind the interface's dispatcher: the policy program in
 * its dispatcher slot, the port routed to it, its data maps, and its executors map (an XSK
 * map of AF_XDP sockets, or a CPU map). It owns everything it created, including the AF_XDP
 * socket group when the hook opened it (`extra.xskCount`); sockets the application gave stay
 * the application's. Closing unroutes the port first, so frames go back to the default path
 * before anything is freed; the dispatcher itself detaches when its last policy leaves.
 */
export class XdpAttachment implements Attachment {
  readonly hook: XdpHookId;
  readonly target: XdpTarget;
  readonly ifindex: number;
  /** The mode the interface's dispatcher runs in. */
  readonly mode: DispatcherMode;
  /** xdp-skb / xdp-drv: the AF_XDP executors, executor k being `sockets[k]` (empty when none). */
  readonly sockets: readonly XskSocket[];
  /** The socket group the hook opened for `extra.xskCount`; undefined when the application gave its sockets. */
  readonly xskGroup: XskSocketGroup | undefined;
  /** The executors map: an XSK map (AF_XDP hooks) or a CPU map (cpu-redirect). */
  readonly executors: XskMap | CpuMap;
  readonly #lease: DispatcherLease<XdpDispatcher>;
  readonly #shared: ReadonlyMap<string, KernelDataMapStore>;
  #loaded: LoadedProgram;
  #spec: ProgramSpec | undefined;
  /** Data maps this attachment created (shared ones are borrowed and never closed here). */
  #owned: Map<string, KernelDataMapStore>;
  #dataMaps: ReadonlyMap<string, KernelDataMapStore>;
  #closed = false;
  readonly #sys: Syscalls;
  /** The process whose AF_XDP sockets are the executors (`extra.xskPid`), followed until it exits or this closes. */
  readonly #xskProcess: TargetProcessWatch | undefined;
  /** Where `persist` pinned this attachment's objects, and what (relative pin -> object id). */
  #pinDir: string | undefined;
  readonly #pinned = new Map<string, number>();
  /** What the last `persist` left for `commit`. */
  readonly #pending: PendingPins = { renames: [], removals: [] };
  /**
   * Present unless the policy has AF_XDP executors: those are sockets of this process, which no
   * pin keeps (they close with it), so such a deployment cannot outlive its process and is not
   * persisted; it ends with the process, and a daemon stopping undeploys it.
   */
  readonly persist?: (location: PersistenceLocation) => PersistedAttachment;
  readonly release?: () => Promise<void>;
  /** With `persist`: the runtime recorded its result, so its pending pins become the pins (see `PendingPins`). */
  readonly commit?: () => void;

  private constructor(init: {
    hook: XdpHookId;
    target: XdpTarget;
    ifindex: number;
    sockets: readonly XskSocket[];
    xskGroup: XskSocketGroup | undefined;
    xskProcess?: TargetProcessWatch | undefined;
    executors: XskMap | CpuMap;
    lease: DispatcherLease<XdpDispatcher>;
    shared: ReadonlyMap<string, KernelDataMapStore>;
    loaded: LoadedProgram;
    spec: ProgramSpec | undefined;
    owned: Map<string, KernelDataMapStore>;
    sys: Syscalls;
  }) {
    this.#xskProcess = init.xskProcess;
    this.hook = init.hook;
    this.target = init.target;
    this.ifindex = init.ifindex;
    this.mode = init.lease.dispatcher.mode;
    this.sockets = init.sockets;
    this.xskGroup = init.xskGroup;
    this.executors = init.executors;
    this.#lease = init.lease;
    this.#shared = init.shared;
    this.#loaded = init.loaded;
    this.#spec = init.spec;
    this.#owned = init.owned;
    this.#dataMaps = init.loaded.dataMaps;
    this.#sys = init.sys;
    if (this.hook === 'cpu-redirect' || this.target.xsk.kind === 'none') {
      this.persist = (dir) => this.#persist(dir);
      this.release = () => this.#release();
      this.commit = () => {
        if (this.#pinDir !== undefined) commitPins(this.#pinDir, this.#pending, this.#pinned);
      };
    }
  }

  /**
   * A policy the interface's dispatcher already runs, found again through its pins after the
   * process that attached it went away (see `XdpHook.restore`): nothing is loaded, routed or
   * attached. Takes ownership of the objects and of the lease.
   */
  static restored(init: {
    hook: XdpHookId;
    target: XdpTarget;
    lease: DispatcherLease<XdpDispatcher>;
    program: LoadedProgram['program'];
    executors: XskMap | CpuMap;
    maps: ReadonlyMap<string, KernelDataMapStore>;
    pinDir: string;
    pinned: ReadonlyMap<string, number>;
    sys: Syscalls;
  }): XdpAttachment {
    const loaded = new LoadedProgram(init.program, init.maps, new Map([[SYSTEM_MAP_NAMES.executors, init.executors.kernelMap]]), []);
    const attachment = new XdpAttachment({
      hook: init.hook,
      target: init.target,
      ifindex: init.lease.dispatcher.ifindex,
      sockets: [],
      xskGroup: undefined,
      executors: init.executors,
      lease: init.lease,
      shared: new Map(),
      loaded,
      spec: undefined,
      owned: new Map(init.maps),
      sys: init.sys,
    });
    attachment.#pinDir = init.pinDir;
    for (const [pin, id] of init.pinned) attachment.#pinned.set(pin, id);
    return attachment;
  }

  /** Opens executors, loads the policy, leases a dispatcher slot and routes the port; on failure nothing stays behind. */
  static async open(options: OpenXdpAttachmentOptions): Promise<XdpAttachment> {
    const { hook, artifact, target, sys } = options;
    const where = `'${target.ifname}'${target.netns === undefined ? '' : ` in network namespace '${target.netns}'`}`;
    const ifindex = resolveInterface(target, where, sys);
    const shared = sharedKernelMaps(options.sharedMaps, artifact.program);
    // Undone in reverse on any failure below; kept (moved out) once the attachment owns it all.
    using undo = new DisposableStack();
    // The dispatcher's refusals (port taken, other mode, a foreign XDP program) come first,
    // before any socket is opened. The port is routed only once the policy is installed.
    const lease = undo.use(
      options.dispatchers.lease({
        ifname: target.ifname,
        ifindex,
        ...(target.netns === undefined ? {} : { netns: target.netns }),
        mode: hook === 'xdp-skb' ? 'skb' : hook === 'xdp-drv' ? 'drv' : (target.mode ?? 'prefer-drv'),
        port: target.port,
        // AF_XDP executors receive only frames of their queue (a redirect to a socket of another
        // queue would drop the frame); PASS, DROP and CPU redirect serve every queue.
        ...(target.xsk.kind === 'none' ? {} : { queue: target.queue }),
        sys,
      }),
    );
    let sockets: readonly XskSocket[] = [];
    let xskGroup: XskSocketGroup | undefined;
    let xskProcess: TargetProcessWatch | undefined;
    let executors: XskMap | CpuMap;
    if (hook === 'cpu-redirect') {
      const cpuMap = CpuMap.create({ name: 'syrup_cpus' }, { sys });
      undo.defer(() => cpuMap.close());
      const cpus = target.cpus ?? onlineCpus();
      for (const cpu of cpus) {
        if (cpu >= cpuMap.maxEntries) {
          throw new XdpHookError('XDP_TARGET_INVALID', `CPU ${cpu} does not exist on this machine, which has CPUs 0 to ${cpuMap.maxEntries - 1}.`);
        }
        cpuMap.set(cpu, { queueSize: target.cpuQueueSize, ...(target.cpuProgram === undefined ? {} : { program: target.cpuProgram }) });
      }
      executors = cpuMap;
    } else {
      if (target.xsk.kind === 'given') {
        sockets = target.xsk.sockets;
        const namespace = networkNamespaceIdentity(target.netns);
        if (sockets.some((s) => s.ifindex !== ifindex || networkNamespaceIdentity(s.umem.netns) !== namespace)) {
          throw new XdpHookError('XDP_TARGET_INVALID', `the sockets of extra.xskSockets are not bound to ${where}.`);
        }
      } else if (target.xsk.kind === 'create') {
        const group = await openGroup(target, ifindex, target.xsk.count, target.xsk.umem, where, sys);
        undo.defer(() => group.close());
        xskGroup = group;
        sockets = group.sockets;
      }
      // A process's sockets (extra.xskPid) are borrowed only while they go into the map, which then holds them;
      // its pidfd is kept, so the deployment can end with the process.
      let borrowed: Fd[] = [];
      if (target.xsk.kind === 'process') {
        const taken = takeProcessXskSockets(target.xsk.pid, where, sys);
        borrowed = taken.sockets;
        const watch = new TargetProcessWatch(taken.pidfd, sys);
        undo.defer(() => watch.close());
        xskProcess = watch;
      }
      try {
        const fds = target.xsk.kind === 'process' ? borrowed : sockets.map((s) => s.fd);
        const xskMap = XskMap.create({ maxEntries: Math.max(1, fds.length), name: 'syrup_xsks' }, { sys });
        undo.defer(() => xskMap.close());
        fds.forEach((fd, k) => xskMap.set(k, fd));
        executors = xskMap;
      } finally {
        for (const fd of borrowed) fd.close();
      }
    }

    const { loaded, plan } = await loadPolicy(artifact.program, executors, shared, new Map(), sys);
    undo.defer(() => {
      for (const map of plan.created) map.close();
    });
    undo.defer(() => loaded.close());

    lease.install(loaded.program);
    const owned = ownedMaps(plan, shared);
    const attachment = new XdpAttachment({ hook, target, ifindex, sockets, xskGroup, xskProcess, executors, lease, shared, loaded, spec: artifact.program, owned, sys });
    undo.move();
    return attachment;
  }

  /** The policy's data maps, by the names it declared. */
  get maps(): ReadonlyMap<string, DataMapStore> {
    return this.#dataMaps;
  }

  /** The policy program now in the dispatcher slot. */
  get program(): LoadedProgram['program'] {
    return this.#loaded.program;
  }

  /** The dispatcher slot and port this policy is routed through. */
  get route(): { readonly port: number; readonly slot: number; readonly dispatcher: XdpDispatcher } {
    return { port: this.#lease.port, slot: this.#lease.slot, dispatcher: this.#lease.dispatcher };
  }

  /**
   * Loads `artifact` (same hook, same target) and swaps it into the dispatcher slot in one
   * program-array update, so every frame runs the old policy or the new one, never none. The
   * new program keeps the executors and every data map whose name and shape it shares with
   * the old one (state such as a round-robin counter carries over); maps it no longer uses
   * are freed after the swap. On failure the old policy stays.
   */
  async replace(artifact: Artifact): Promise<void> {
    if (this.#closed) throw new XdpHookError('XDP_CLOSED', `the ${this.hook} attachment on '${this.target.ifname}' is closed.`);
    const next = artifact as Artifact & Partial<EbpfArtifact>;
    if (next.backend !== 'ebpf' || next.program === undefined || next.hook !== this.hook || next.program.target !== this.hook) {
      throw new XdpHookError('XDP_ARTIFACT_MISMATCH', `a ${this.hook} attachment can only be replaced by a ${this.hook} artifact of the eBPF backend, not one for '${next.hook}'.`);
    }
    const spec = next.program;
    const { loaded, plan } = await loadPolicy(spec, this.executors, this.#shared, this.#owned, this.#sys);
    try {
      // Closed while the verifier ran (off the event loop): the slot is no longer this attachment's.
      if (this.#closed) throw new XdpHookError('XDP_CLOSED', `the ${this.hook} attachment on '${this.target.ifname}' is closed.`);
      this.#lease.install(loaded.program);
    } catch (error) {
      loaded.close();
      for (const map of plan.created) map.close();
      throw error;
    }
    const owned = ownedMaps(plan, this.#shared);
    const old = this.#loaded;
    const oldOwned = this.#owned;
    this.#loaded = loaded;
    this.#spec = spec;
    this.#owned = owned;
    this.#dataMaps = loaded.dataMaps;
    old.close();
    const kept = new Set(owned.values());
    for (const map of oldOwned.values()) if (!kept.has(map)) map.close();
  }

  /**
   * Pins the policy (`prog`), its executors map (`executors`, root's) and its data maps
   * (`maps/<name>`, the tenant's, 0600) in `dir`, and the interface's dispatcher (its link,
   * root program, routes and policies maps) once per interface in the shared directory; again
   * after a replace, so the pins name what runs. The record keeps the route (port and slot),
   * the interface and the dispatcher's objects; no process: the deployment follows its port.
   */
  #persist(location: PersistenceLocation): PersistedAttachment {
    if (this.#closed) throw new XdpHookError('XDP_CLOSED', `the ${this.hook} attachment on '${this.target.ifname}' is closed.`);
    const dir = pinDirectoriesOf(location, this.hook);
    if (this.#pinDir !== undefined && this.#pinDir !== dir.path) unpinEvery(this.#pinDir, this.#pinned);
    this.#pinDir = dir.path;
    mkdirMode(join(dir.path, MAPS_DIR), 0o755);
    const sys = this.#sys;
    const objects: PinnedObject[] = [];
    const program = this.#loaded.program.info();
    pinAt(this.#loaded.program.fd, dir.path, PROGRAM_PIN, program.id, this.#pinned, sys, undefined, this.#pending);
    objects.push({ pin: PROGRAM_PIN, kind: 'prog', role: 'program', id: program.id, tag: program.tag });
    const executors = this.executors.kernelMap.info().id;
    pinAt(this.executors.fd, dir.path, EXECUTORS_PIN, executors, this.#pinned, sys, undefined, this.#pending);
    objects.push({ pin: EXECUTORS_PIN, kind: 'map', role: 'executors', id: executors });
    const current = new Set<string>();
    for (const [name, store] of this.#dataMaps) {
      const pin = `${MAPS_DIR}/${pinPath('/', name).slice(1)}`;
      const id = store.kernelMap.info().id;
      pinAt(store.kernelMap.fd, dir.path, pin, id, this.#pinned, sys, dir.tenant, this.#pending);
      objects.push({ pin, kind: 'map', role: 'data-map', id, name });
      current.add(pin);
    }
    for (const pin of [...this.#pinned.keys()]) {
      if (pin.startsWith(`${MAPS_DIR}/`) && !current.has(pin) && !this.#pending.removals.includes(pin)) this.#pending.removals.push(pin);
    }
    const dispatcher = this.#lease.dispatcher;
    const pins: DispatcherPins = dispatcher.persist(dir.shared);
    const { ifname, netns, port, cpus, cpuQueueSize } = this.target;
    const data: Record<string, JsonValue> = {
      ifname,
      ifindex: this.ifindex,
      ...(netns === undefined ? {} : { netns }),
      netnsId: dispatcher.netnsId,
      port,
      slot: this.#lease.slot,
      mode: this.mode,
      executors: this.hook === 'cpu-redirect' ? 'cpu' : 'none',
      ...(this.hook === 'cpu-redirect' ? { cpuQueueSize, ...(cpus === undefined ? {} : { cpus: [...cpus] }) } : {}),
      dispatcher: { dir: pins.dir, objects: pins.objects.map((o) => ({ ...o })) },
    };
    return { backend: 'ebpf', hook: this.hook, objects: objects.map(toObjectRecord), data };
  }

  /**
   * Lets go of this process's fds (program, maps, executors, its hold on the dispatcher) and
   * leaves the route, the slot and every pin in place: a daemon stopping without undeploying.
   * The dispatcher stays attached through its pinned link. An attachment never persisted has
   * nothing pinned to be found again by, so it is closed instead. Afterwards it is closed.
   */
  async #release(): Promise<void> {
    if (this.#closed) return;
    if (this.#pinDir === undefined) return this.close();
    this.#closed = true;
    this.#lease.release();
    this.#loaded.close();
    for (const map of this.#owned.values()) map.close();
    this.executors.close();
  }

  /** Unroutes the port, then frees the program, its maps and the executors it created, and removes its pins. Harmless twice. */
  /**
   * With `extra.xskPid`: calls `listener` once when that process exits, whose sockets are the
   * executors (the XSK map would otherwise keep them, and their UMEM, alive). Otherwise the
   * executors are this process's own or none, and nothing is reported.
   */
  onTargetExit(listener: () => void): void {
    if (this.#closed) return;
    this.#xskProcess?.onExit(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const steps: (() => void)[] = [
      () => this.#xskProcess?.close(),
      () => this.#lease.close(),
      () => this.#loaded.close(),
      () => {
        for (const map of this.#owned.values()) map.close();
      },
      () => this.executors.close(),
      () => this.xskGroup?.close(),
      () => {
        // The deployment ends, so do its pins (the dispatcher's went with its last lease).
        if (this.#pinDir === undefined) return;
        for (const pin of this.#pending.renames.splice(0)) unpin(join(this.#pinDir, `${pin}-pending`));
        unpinEvery(this.#pinDir, this.#pinned);
      },
    ];
    let failure: unknown;
    for (const step of steps) {
      try {
        step();
      } catch (error) {
        failure ??= error;
      }
    }
    if (failure !== undefined) throw failure;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** The spec of the policy now running; undefined after a restore until a replace (an earlier process loaded it). */
  get spec(): ProgramSpec | undefined {
    return this.#spec;
  }
}

function resolveInterface(target: XdpTarget, where: string, sys: Syscalls): number {
  try {
    const lookup = (): number => interfaceIndex(target.ifname, { sys });
    return target.netns === undefined ? lookup() : inNetworkNamespace(target.netns, lookup, { sys });
  } catch (error) {
    if (error instanceof LinkError && (error.code === 'INTERFACE_NOT_FOUND' || error.code === 'NETNS_FAILED')) {
      throw new XdpHookError('XDP_INTERFACE_NOT_FOUND', `there is no network interface ${where}.`, { cause: error });
    }
    throw error;
  }
}

async function openGroup(
  target: XdpTarget,
  ifindex: number,
  count: number,
  umem: { frameSize?: 2048 | 4096; frameCount?: number },
  where: string,
  sys: Syscalls,
): Promise<XskSocketGroup> {
  try {
    return await XskSocketGroup.open({ ifindex, queue: target.queue, count, ...umem, ...(target.netns === undefined ? {} : { netns: target.netns }), sys });
  } catch (error) {
    if (error instanceof XskError && error.code === 'XSK_QUEUE_BUSY') {
      throw new XdpHookError(
        'XDP_QUEUE_BUSY',
        `queue ${target.queue} of ${where} already has an AF_XDP UMEM, and one queue serves one UMEM, so only its owner can add AF_XDP executors there.`,
        { cause: error },
      );
    }
    throw new XdpHookError('XDP_ATTACH_FAILED', `cannot open ${count} AF_XDP sockets on queue ${target.queue} of ${where}: ${(error as Error).message}`, { cause: error });
  }
}

/** The shared maps a kernel program can use: kernel maps of the same shape as the policy declares. */
function sharedKernelMaps(shared: SharedMaps | undefined, spec: ProgramSpec): ReadonlyMap<string, KernelDataMapStore> {
  const out = new Map<string, KernelDataMapStore>();
  if (shared === undefined) return out;
  for (const [name, store] of shared) {
    const declared = spec.maps.find((m) => m.role === 'data' && m.name === name);
    if (declared === undefined) continue;
    if (!(store instanceof KernelDataMapStore)) {
      throw new XdpHookError('XDP_SHARED_MAP_UNSUPPORTED', `shared map '${name}' lives in userspace memory, which a kernel program cannot reach; share a kernel map instead.`);
    }
    out.set(name, store);
  }
  return out;
}

/**
 * Loads a policy program with its executors map and its data maps (see `planDataMaps`: the
 * ones it can keep from `current`, same name and shape, then shared ones, then new ones). On
 * failure the maps made for it are closed again.
 */
async function loadPolicy(
  spec: ProgramSpec,
  executors: XskMap | CpuMap,
  shared: ReadonlyMap<string, KernelDataMapStore>,
  current: ReadonlyMap<string, KernelDataMapStore>,
  sys: Syscalls,
): Promise<{ loaded: LoadedProgram; plan: DataMapPlan }> {
  const plan = planDataMaps(spec, { current, shared, hook: spec.target, sys });
  try {
    // The verifier runs off the event loop: the daemon keeps serving other tenants meanwhile.
    const loaded = await loadProgramSpecAsync(spec, { dataMaps: plan.maps, systemMaps: new Map([[SYSTEM_MAP_NAMES.executors, executors.kernelMap]]), sys });
    return { loaded, plan };
  } catch (error) {
    for (const map of plan.created) map.close();
    throw error;
  }
}
