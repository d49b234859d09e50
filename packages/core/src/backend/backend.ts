import type { DataMapStore } from '@syrup/maps';
import type { HookId, HookSpec } from '../hook/hook-spec.js';
import type { PolicyManifest } from '../policy/define-policy.js';
import type { PersistedAttachment, PinDirectory, RestoreRequest } from './persistence.js';

/** Whether this machine can run one of a backend's hooks; `reason` is one sentence when not. */
export interface HookProbe {
  readonly hook: HookId;
  readonly available: boolean;
  readonly reason?: string;
}

/** What a backend compiles: the policy's manifest and, where the front end produced it, its code. */
export interface CompileRequest {
  readonly policy: PolicyManifest;
  readonly hook: HookSpec;
  /** The policy module's text and file name, for error positions and line info. */
  readonly source?: PolicySource;
  /** Where the artifact will attach, for hooks whose code depends on it (an XDP port filter). */
  readonly target?: DeployTarget;
}

/** A policy module as text: the client reads files, the daemon only ever sees text. */
export interface PolicySource {
  readonly fileName: string;
  readonly text: string;
}

/** A compiled policy for one hook; backends extend it with their own payload. */
export interface Artifact {
  readonly backend: string;
  readonly hook: HookId;
  readonly policy: PolicyManifest;
}

/**
 * Where to attach. Which fields matter depends on the hook: a socket group is named by
 * `port` (and `protocol`, `pid`), an XDP hook by `interface` (and `queue`, `port`), the thread
 * hook by `pid`. Backends validate what they need and refuse the rest with one sentence.
 */
export interface DeployTarget {
  readonly port?: number;
  readonly protocol?: 'udp' | 'tcp';
  readonly pid?: number;
  readonly interface?: string;
  readonly queue?: number;
  /** Backend-specific extras (explicit socket fds, CPU lists...). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** Data maps a deployment shares with others by name (cross-layer communication). */
export type SharedMaps = ReadonlyMap<string, DataMapStore>;

export interface AttachRequest<A extends Artifact = Artifact> {
  readonly artifact: A;
  readonly target: DeployTarget;
  /** Maps to reuse instead of creating, keyed by the policy's map names. */
  readonly sharedMaps?: SharedMaps;
}

/**
 * A policy attached at a hook. It owns every kernel object it created (programs, maps,
 * links, socket-array entries) and releases them on `close()`; closing twice is harmless.
 * After `close()` the hook's default scheduling is back.
 */
export interface Attachment extends AsyncDisposable {
  readonly hook: HookId;
  /** The policy's data maps, by the names it declared. */
  readonly maps: ReadonlyMap<string, DataMapStore>;
  /** Swaps in another artifact for the same hook and target atomically: no input sees the default in between. */
  replace(artifact: Artifact): Promise<void>;
  /**
   * Optional, for attachments whose target is a process (the owner of a socket group, a
   * thread's process): calls `listener` once, on the main thread, when that process exits,
   * so the deployment can end with it instead of outliving its target. It is called at most
   * once per attachment, never after `close()`, and never synchronously from this call.
   * Attachments without such a target (sockets of the deploying process itself, an
   * interface) leave it out or never call the listener.
   */
  onTargetExit?(listener: () => void): void;
  /**
   * Optional persistence: pins the attachment's kernel objects in `dir` (again after a
   * replace: the pins then name the current objects) and returns the record recovery needs.
   * Attachments without it end with the process that made them.
   */
  persist?(dir: PinDirectory): PersistedAttachment;
  /**
   * Optional, with `persist`: lets go of this process's handles (fds, watches) and leaves
   * every kernel object attached and pinned, for a daemon that stops but keeps deployments.
   * After it the attachment is closed; `close()` does nothing more.
   */
  release?(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A backend plugin: declares its hooks, probes the machine, compiles and attaches. Registered
 * in the container under the {@link Backend} token by its module's `register(container)`.
 */
export interface Backend {
  readonly name: string;
  readonly hooks: readonly HookSpec[];
  /** Says per hook whether this machine can run it; throwing marks every hook unavailable. */
  probe(): Promise<readonly HookProbe[]>;
  compile(request: CompileRequest): Promise<Artifact>;
  attach(request: AttachRequest): Promise<Attachment>;
  /**
   * Optional: the code an artifact of this backend holds, as text lines for people (for eBPF,
   * the instructions with their policy source positions), for `syrup disasm`.
   */
  describe?(artifact: Artifact): readonly string[];
  /**
   * Optional: rebuilds an attachment from a record its `persist` wrote, after checking every
   * pinned object's id and tag against the record. Refuses with a `RestoreError`.
   */
  restore?(request: RestoreRequest): Promise<Attachment>;
  /**
   * Optional: makes the daemon's pin root usable for this backend's pins before anything is
   * created under it or read from it (the eBPF backend mounts bpffs there). The daemon calls it
   * once at start, before recovery, for each backend with an available hook; a throw stops the
   * start, since deployments could neither be pinned nor recovered.
   */
  preparePinRoot?(root: string): void | Promise<void>;
}

/** The tsyringe token under which backends register (`container.register(Backend, { useClass })`). */
export const Backend: unique symbol = Symbol.for('@syrup/core.Backend');
