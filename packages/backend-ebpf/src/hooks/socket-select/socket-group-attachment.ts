import { crashPoint, type Artifact, type Attachment, type PersistedAttachment, type PersistenceLocation, type SharedMaps } from '@syrup/core';
import { join } from 'node:path';
import { SYSTEM_MAP_NAMES } from '../../codegen/epilogues.js';
import { unpin } from '../../pin/pin.js';
import { isSyscallError } from '../../errors/syscall-error.js';
import type { Fd } from '../../fd.js';
import { ReuseportAttachment } from '../../links/reuseport-attachment.js';
import { LoadedProgram, loadProgramSpecAsync } from '../../loader/loaded-program.js';
import type { KernelDataMapStore } from '../../maps/kernel-data-map-store.js';
import { ReadinessPoller, type ReadinessWatch } from '../../readiness/readiness-poller.js';
import { ReuseportSockArray } from '../../maps/system/reuseport-sock-array.js';
import { SystemMapError } from '../../maps/system/system-map-error.js';
import type { Program } from '../../programs/program.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import type { EbpfArtifact } from '../network-hook.js';
import { planDataMaps } from '../plan-data-maps.js';
import { pinDirectoriesOf } from '../../pin/pinned-object.js';
import { commitPins, pinAt, unpinEvery, type PendingPins } from '../../pin/pinned-objects.js';
import { EXECUTORS_PIN, PROGRAM_PIN, pinSocketGroup, unpinAll, type OpenedSocketGroup } from './socket-group-pins.js';
import type { SocketGroup, SocketGroupInfo } from './socket-group.js';
import { SocketSelectError } from './socket-select-error.js';
import type { SteeredSockets } from './steered-sockets.js';

const HOOK = 'socket-select';

export interface SocketGroupAttachOptions {
  /** The sockets the backend's deployments steer: the group's are claimed, or the attach is refused as busy. */
  readonly steered: SteeredSockets;
  readonly sharedMaps?: SharedMaps;
  /** The deployment being attached: a second deployment on the same group is refused naming it. */
  readonly deployment?: string;
  readonly sys?: Syscalls;
  /**
   * The deployment's pin directory, when it will persist (`AttachRequest.location`): the
   * program and the socket array are pinned there before the array is filled and the program
   * attached, so that after a crash at any later step the backend's `abandon` finds the array
   * (and empties it) and knows the group may run the program (and detaches it).
   */
  readonly pinDir?: string;
}

/**
 * A policy attached to one SO_REUSEPORT group. It is not a link: the program lives in the
 * group, attached and detached through whichever member socket is open at the time, and the
 * group keeps it until `close()` or until the group's last socket closes. It owns the
 * program, the data maps it created, the socket array (`.executors`) and the owner's
 * pidfd; it never keeps one of the group's sockets open, so when the owning process exits
 * its sockets close, their array entries vanish, the group is gone, and nothing here
 * refers to them (`close()` then only releases the maps and the program).
 */
export class SocketGroupAttachment implements Attachment, Disposable {
  readonly hook = HOOK;
  readonly #group: SocketGroup;
  readonly #executors: ReuseportSockArray;
  readonly #shared: SharedMaps | undefined;
  readonly #sys: Syscalls | undefined;
  readonly #steered: SteeredSockets;
  /** Maps this attachment created and must close; shared maps are never in it. */
  readonly #owned = new Set<KernelDataMapStore>();
  #loaded: LoadedProgram;
  #maps: ReadonlyMap<string, KernelDataMapStore>;
  #link: ReuseportAttachment;
  #closed = false;
  /** The owner's pidfd under watch, from the first `onTargetExit` until it fires or `close()`. */
  #exitWatch: ReadinessWatch | undefined;
  #exitListeners: (() => void)[] = [];
  #targetExited = false;
  /** Where `persist` pinned this attachment's objects, and what it pinned (relative pin -> object id). */
  #pinDir: string | undefined;
  readonly #pinned = new Map<string, number>();
  /** What the last `persist` left for `commit`. */
  readonly #pending: PendingPins = { renames: [], removals: [] };

  private constructor(
    group: SocketGroup,
    executors: ReuseportSockArray,
    loaded: LoadedProgram,
    maps: ReadonlyMap<string, KernelDataMapStore>,
    created: readonly KernelDataMapStore[],
    link: ReuseportAttachment,
    options: SocketGroupAttachOptions,
  ) {
    this.#group = group;
    this.#executors = executors;
    this.#loaded = loaded;
    this.#maps = maps;
    for (const store of created) this.#owned.add(store);
    this.#link = link;
    this.#shared = options.sharedMaps;
    this.#sys = options.sys;
    this.#steered = options.steered;
  }

  /**
   * Loads the artifact's program, puts the group's sockets in a socket array sized to the
   * group, and attaches the program to the group. The array is full before the program is
   * attached, so no input ever meets the program with an empty array. With `pinDir`, both are
   * pinned there first (pin before attach). Takes ownership of `group` (closed on failure
   * too); on failure nothing stays loaded, attached or pinned.
   */
  static async open(group: SocketGroup, artifact: EbpfArtifact, options: SocketGroupAttachOptions): Promise<SocketGroupAttachment> {
    const sysOption = options.sys === undefined ? {} : { sys: options.sys };
    // Undone in reverse on any failure below; kept (moved out) once the attachment owns it all.
    using undo = new DisposableStack();
    undo.use(group);
    // Claimed before the verifier runs (off the event loop), so a second deploy to the same
    // group meanwhile is refused as busy instead of racing this one to the attach.
    undo.use(options.steered.claim(group, options.deployment));
    const executors = ReuseportSockArray.create({ maxEntries: group.size, name: 'executors' }, sysOption);
    undo.defer(() => releaseSocketArray(executors));
    const plan = planDataMaps(artifact.program, { ...sysOption, ...(options.sharedMaps === undefined ? {} : { shared: options.sharedMaps }) });
    for (const store of plan.created) undo.use(store);
    const loaded = undo.use(
      await loadProgramSpecAsync(artifact.program, {
        dataMaps: plan.maps,
        systemMaps: new Map([[SYSTEM_MAP_NAMES.executors, executors.kernelMap]]),
        ...sysOption,
      }),
    );
    const pinned = new Map<string, number>();
    if (options.pinDir !== undefined) {
      const pinDir = options.pinDir;
      const sys = options.sys ?? group.sys;
      undo.defer(() => unpinEvery(pinDir, pinned));
      pinAt(loaded.program.fd, pinDir, PROGRAM_PIN, loaded.program.info().id, pinned, sys);
      pinAt(executors.fd, pinDir, EXECUTORS_PIN, executors.kernelMap.info().id, pinned, sys);
      crashPoint('socket-select-after-pin');
    }
    fillSocketArray(group, executors);
    crashPoint('socket-select-after-fill');
    const link = group.withMember((member) => ReuseportAttachment.attach(member, loaded.program, sysOption));
    if (link === undefined) throw gone(group);
    crashPoint('socket-select-after-attach');
    const attachment = new SocketGroupAttachment(group, executors, loaded, plan.maps, plan.created, link, options);
    if (options.pinDir !== undefined) {
      attachment.#pinDir = options.pinDir;
      for (const [pin, id] of pinned) attachment.#pinned.set(pin, id);
    }
    undo.move();
    return attachment;
  }

  /**
   * An attachment found again through its pins after the process that made it went away (see
   * `SocketSelectHook.restore`): nothing is loaded, and the recorded program is attached to
   * the group again, in one step (SO_ATTACH_REUSEPORT_EBPF replaces under RCU). Normally that
   * is the program the group runs already; after a crash in the middle of a replace it puts
   * the recorded one back in place of a newer one nothing records, so what steers is always
   * what the state file names. Takes ownership of `group` and `objects`.
   */
  static restored(group: SocketGroup, objects: OpenedSocketGroup, pinDir: string, options: SocketGroupAttachOptions): SocketGroupAttachment {
    const sysOption = options.sys === undefined ? {} : { sys: options.sys };
    // On failure the group closes first, then the objects (reverse order of these uses).
    using undo = new DisposableStack();
    undo.use(objects);
    undo.use(group);
    const link = group.withMember((member) => ReuseportAttachment.attach(member, objects.program, sysOption));
    if (link === undefined) throw gone(group);
    undo.move();
    const loaded = new LoadedProgram(objects.program, objects.maps, new Map([[SYSTEM_MAP_NAMES.executors, objects.executors.kernelMap]]), []);
    const attachment = new SocketGroupAttachment(group, objects.executors, loaded, objects.maps, [...objects.maps.values()], link, options);
    options.steered.adopt(group, options.deployment);
    attachment.#pinDir = pinDir;
    for (const [pin, id] of objects.pinned) attachment.#pinned.set(pin, id);
    return attachment;
  }

  /**
   * Pins the program (`prog`), the socket array (`sockarray`) and the data maps
   * (`maps/<name>`, given to the tenant, mode 0600) in the location's pin directory; again after a replace, so the
   * pins always name what runs. The group holds the program and the program its maps, so
   * steering goes on without this process; the pins are how a restarted daemon finds them.
   */
  persist(location: PersistenceLocation): PersistedAttachment {
    this.#check('persist');
    const dir = pinDirectoriesOf(location, HOOK);
    if (this.#pinDir !== undefined && this.#pinDir !== dir.path) unpinAll(this.#pinDir, this.#pinned);
    this.#pinDir = dir.path;
    return pinSocketGroup({ program: this.#loaded.program, executors: this.#executors, maps: this.#maps, group: this.#group.info }, dir, this.#pinned, this.#sys ?? this.#group.sys, this.#pending);
  }

  /** The runtime recorded what `persist` returned: its pending pins become the pins (see `PendingPins`). */
  commit(): void {
    if (this.#pinDir !== undefined) commitPins(this.#pinDir, this.#pending, this.#pinned);
  }

  /**
   * Lets go of this process's fds (program, maps, socket array, pidfd) and the exit watch,
   * leaving the program attached to the group, the socket array filled and the pins in place:
   * a daemon stopping without undeploying. Afterwards the attachment is closed.
   */
  async release(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopExitWatch();
    this.#exitListeners = [];
    this.#steered.free(this.#group);
    this.#loaded.close();
    for (const store of this.#owned) store.close();
    this.#owned.clear();
    this.#executors.close();
    this.#group.close();
  }

  /** The group as found at attach time: protocol, address, port, owner pid, and the socket of each executor. */
  get group(): SocketGroupInfo {
    return this.#group.info;
  }

  /** The process whose sockets these are; `onTargetExit` reports when it exits. */
  get pid(): number {
    return this.#group.info.pid;
  }

  /**
   * A pidfd of the owning process, borrowed until `close()`: it becomes readable when the
   * process exits (watch it with epoll or `ReadinessPoller`), and unlike the pid it cannot
   * name another process after a pid reuse.
   */
  get pidfd(): Fd {
    this.#check('read the pidfd of');
    return this.#group.pidfd;
  }

  /**
   * Calls `listener` once when the owning process exits: its pidfd becomes readable then,
   * and the shared `ReadinessPoller` thread reports it. The watch does not keep this process
   * alive and ends with `close()`. Sockets passed explicitly are this process's own, whose
   * exit no listener would outlive, so for them (and for a group found in this process) it
   * does nothing.
   */
  onTargetExit(listener: () => void): void {
    if (this.#closed || this.#targetExited || this.#group.info.pid === process.pid) return;
    this.#exitListeners.push(listener);
    if (this.#exitWatch !== undefined) return;
    const sys = this.#sys ?? this.#group.sys;
    this.#exitWatch = ReadinessPoller.of(sys).watch(this.#group.pidfd, (error) => this.#ownerExited(error), { keepAlive: false });
    this.#exitWatch.arm();
  }

  /** The policy's data maps by the names it declared. */
  get maps(): ReadonlyMap<string, KernelDataMapStore> {
    return this.#maps;
  }

  /** The socket array the program selects from: index k holds the cookie of executor k while that socket is open. */
  get executors(): ReuseportSockArray {
    this.#check('read the executors of');
    return this.#executors;
  }

  /** The program now attached. */
  get program(): Program {
    return this.#loaded.program;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Hot swap: loads the new program with the same socket array and with the current data
   * maps of the same name and shape (others are created), then attaches it to the group,
   * which the kernel does in one step (SO_ATTACH_REUSEPORT_EBPF replaces the group's program
   * under RCU): every datagram or SYN runs the old program or the new one, never none. Only
   * then are the old program and the maps the new one dropped closed. On failure the old
   * program stays attached and nothing new stays loaded.
   */
  async replace(artifact: Artifact): Promise<void> {
    this.#check('replace the policy of');
    const next = this.#socketSelectArtifact(artifact);
    const sysOption = this.#sys === undefined ? {} : { sys: this.#sys };
    const plan = planDataMaps(next.program, {
      current: this.#maps,
      ...sysOption,
      ...(this.#shared === undefined ? {} : { shared: this.#shared }),
    });
    let loaded: LoadedProgram | undefined;
    let link: ReuseportAttachment | undefined;
    try {
      // The verifier runs off the event loop; the deployment (core's ManagedDeployment) admits
      // no other replace or undeploy until this one ends, and a close meanwhile is checked below.
      loaded = await loadProgramSpecAsync(next.program, {
        dataMaps: plan.maps,
        systemMaps: new Map([[SYSTEM_MAP_NAMES.executors, this.#executors.kernelMap]]),
        ...sysOption,
      });
      this.#check('replace the policy of');
      const program = loaded.program;
      link = this.#group.withMember((member) => {
        const through = this.#link.through(member);
        through.replace(program);
        return through;
      });
      if (link === undefined) throw gone(this.#group);
    } catch (error) {
      loaded?.close();
      for (const store of plan.created) store.close();
      throw error;
    }
    const old = this.#loaded;
    const dropped = [...this.#maps.values()].filter((store) => ![...plan.maps.values()].includes(store));
    this.#loaded = loaded;
    this.#link = link;
    this.#maps = plan.maps;
    for (const store of plan.created) this.#owned.add(store);
    old.close();
    for (const store of dropped) {
      if (this.#owned.delete(store)) store.close();
    }
  }

  /**
   * Detaches the program from the group (the kernel's hash picks sockets again) and releases
   * the program, the maps it created, the socket array and the pidfd, and stops watching the
   * owner for `onTargetExit` (its listeners are not called afterwards). When the group is gone
   * (its process exited) there is nothing to detach and only the release happens. Closing
   * twice is harmless.
   */
  async close(): Promise<void> {
    this.closeSync();
  }

  /** `close` without the promise: for `using` and for callers that are not async. */
  closeSync(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Before the group closes the pidfd: the poller takes it out of its epoll set while it is open.
    this.#stopExitWatch();
    this.#exitListeners = [];
    try {
      this.#group.withMember((member) => this.#link.through(member).detach());
      crashPoint('socket-select-after-detach');
    } finally {
      this.#steered.free(this.#group);
      this.#loaded.close();
      for (const store of this.#owned) store.close();
      this.#owned.clear();
      releaseSocketArray(this.#executors);
      this.#group.close();
      // The deployment ends, so do its pins: with them gone the kernel frees what nothing else holds.
      if (this.#pinDir !== undefined) {
        for (const pin of this.#pending.renames.splice(0)) unpin(join(this.#pinDir, `${pin}-pending`));
        unpinAll(this.#pinDir, this.#pinned);
      }
    }
  }

  [Symbol.dispose](): void {
    this.closeSync();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.closeSync();
  }

  toString(): string {
    return `policy '${this.#loaded.program.name}' on ${this.#group.toString()}`;
  }

  #ownerExited(error?: Error): void {
    this.#stopExitWatch();
    // The poller's thread failed: whether the owner exited is unknown, so nothing is reported
    // and the deployment stays until undeployed, as it would without the watch.
    if (error !== undefined || this.#closed) return;
    this.#targetExited = true;
    for (const listener of this.#exitListeners.splice(0)) listener();
  }

  #stopExitWatch(): void {
    const watch = this.#exitWatch;
    this.#exitWatch = undefined;
    watch?.close();
  }

  #check(operation: string): void {
    if (this.#closed) throw new SocketSelectError('SOCKET_SELECT_CLOSED', `cannot ${operation} a socket-select attachment after close().`);
  }

  #socketSelectArtifact(artifact: Artifact): EbpfArtifact {
    const candidate = artifact as Artifact & Partial<EbpfArtifact>;
    if (candidate.backend !== 'ebpf' || candidate.hook !== HOOK || candidate.program === undefined) {
      throw new SocketSelectError(
        'SOCKET_SELECT_FOREIGN_ARTIFACT',
        `a socket-select attachment can only be replaced by an artifact the eBPF backend compiled for socket-select, not one of backend '${candidate.backend}' for hook '${candidate.hook}'.`,
      );
    }
    if (candidate.policy.input !== this.#group.info.protocol) {
      throw new SocketSelectError(
        'SOCKET_SELECT_PROTOCOL_MISMATCH',
        `policy '${candidate.policy.name}' takes ${candidate.policy.input} inputs, but ${this.#group.toString()} receives ${this.#group.info.protocol}.`,
      );
    }
    return candidate as EbpfArtifact;
  }
}

/** Puts the group's sockets in the array; a socket already in another array is a refusal. */
function fillSocketArray(group: SocketGroup, executors: ReuseportSockArray): void {
  try {
    group.fill(executors);
  } catch (error) {
    if (error instanceof SystemMapError && isSyscallError(error.cause, 'EBUSY')) {
      throw new SocketSelectError(
        'SOCKET_SELECT_GROUP_BUSY',
        `a socket of ${group.toString()} is already in another socket array, so another deployment (perhaps of another process) steers this group.`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Empties the socket array, then closes it. A socket belongs to at most one socket array
 * (the kernel refuses a second with EBUSY), and closing the fd does not free the array at
 * once: the kernel frees it after the programs that used it, an RCU grace period and a
 * workqueue later. Emptying it first lets the same sockets join the next deployment's array
 * immediately, as an undeploy followed by a deploy needs.
 */
function releaseSocketArray(executors: ReuseportSockArray): void {
  if (executors.closed) return;
  try {
    for (let k = 0; k < executors.maxEntries; k++) executors.delete(k);
  } finally {
    executors.close();
  }
}

function gone(group: SocketGroup): SocketSelectError {
  return new SocketSelectError('SOCKET_SELECT_GROUP_GONE', `every socket of ${group.toString()} is closed (did the process exit?), so there is no group to attach to.`);
}
