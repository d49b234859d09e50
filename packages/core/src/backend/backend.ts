import type { DataMapStore } from '@syrup/maps';
import type { HookId, HookSpec } from '../hook/hook-spec.js';
import type { PolicyIr } from '../ir/policy-ir.js';
import type { TargetClaim } from '../hook/target-claim.js';
import type { InputKind } from '../policy/inputs.js';
import type { PolicyManifest } from '../policy/define-policy.js';
import type { DeployTarget, SharedMaps } from './deploy-target.js';
import type { AbandonRequest, PersistedAttachment, PersistenceLocation, RestoreRequest } from './persistence.js';

export type { DeployTarget, SharedMaps } from './deploy-target.js';

/** Whether this machine can run one of a backend's hooks; `reason` is one sentence when not. */
export interface HookProbe {
  readonly hook: HookId;
  readonly available: boolean;
  readonly reason?: string;
}

/**
 * What a backend compiles: the policy's code as core's front end lowered it, never its text.
 * The runtime runs the front end once per deploy or replace (in its compile worker, within the
 * tenant's time limit) and hands the same IR to the backend; a backend generates its code from
 * `ir` and never parses policy text (core's docs/policy-language.md, "Compile once").
 */
export interface CompileRequest {
  /** The policy's manifest, with the params its code was compiled with: always `ir.manifest`. */
  readonly policy: PolicyManifest;
  /** The policy IR, already checked by `verifyPolicyIr` (the deployment checks it before asking). */
  readonly ir: PolicyIr;
  readonly hook: HookSpec;
  /** The policy module's text and file name, for error positions and line info only; absent for IR built without a module. */
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
  /** Lines for people about how the artifact was built (the device profile it was checked against, say); `syrup check` prints them. */
  readonly notes?: readonly string[];
}

/** Who asks for a deployment: the peer's credentials over the daemon's socket (uid 0 for an embedded runtime). */
export interface CallerCredentials {
  readonly uid: number;
  readonly gid?: number;
  readonly pid?: number;
}

/** A target for one hook, checked against the hook's schema, and the policy's input kind. */
export interface TargetRequest {
  readonly hook: HookSpec;
  readonly target: DeployTarget;
  /** The policy's input kind (socket-select's protocol when the target names none). */
  readonly input: InputKind;
}

/** What `authorize` is asked: may this caller deploy on this target? */
export interface AuthorizeRequest extends TargetRequest {
  readonly caller: CallerCredentials;
}

/** A granted target: what to deploy on (fields the proof found filled in) and what it claims. */
export interface Authorization {
  readonly target: DeployTarget;
  readonly claims: readonly TargetClaim[];
}


export interface AttachRequest<A extends Artifact = Artifact> {
  readonly artifact: A;
  readonly target: DeployTarget;
  /** Maps to reuse instead of creating, keyed by the policy's map names. */
  readonly sharedMaps?: SharedMaps;
  /**
   * Where the deployment will persist, given (with the runtime's persistence) before anything
   * is attached and recorded in the runtime's intent. A backend whose attach leaves something
   * in the kernel that outlives this process (a program held by a socket group, a slot of a
   * pinned dispatcher) pins the objects it needs to undo that here before it attaches, so that
   * a crash at any step leaves them findable by `abandon`; the later `persist` pins the rest.
   */
  readonly location?: PersistenceLocation;
  /** The id of the deployment being attached, for refusals that must name it (another deployment holds the target). */
  readonly deployment?: string;
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
   * Optional persistence: keeps what the attachment needs to be found again in `location`
   * (its files in the state directory, its kernel objects pinned in the pin directory; again
   * after a replace, so they name the current objects) and returns the record recovery needs.
   * Attachments without it end with the process that made them.
   */
  persist?(location: PersistenceLocation): PersistedAttachment;
  /**
   * Optional, with `persist`: called once the runtime has recorded what `persist` returned. A
   * backend whose persist replaces objects it had kept (after a replace) may leave the new ones
   * beside the old until then, so that a crash before the record still finds what the state
   * file names; here they take the old ones' places. Its restore settles what a crash between
   * the record and this call left.
   */
  commit?(): void;
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
  /**
   * Optional: the resources a deployment on this target would hold (see `TargetClaim`),
   * without any proof. The runtime asks it for every caller, root included, before
   * `authorize` (so a resource another tenant holds is refused as taken, whoever the caller
   * proves to be) and again for deployments it recovers after a restart. None when absent.
   */
  claims?(request: TargetRequest): readonly TargetClaim[];
  /**
   * Optional: proves that a non-root caller may use the target (it owns the port, the
   * process...), reading only what the caller cannot forge, and answers the target to deploy
   * on and its claims; throws the refusal (an `OwnershipError`, one sentence). Without it only
   * root deploys at this backend's hooks. Root is never asked: it may deploy anywhere.
   */
  authorize?(request: AuthorizeRequest): Promise<Authorization>;
  compile(request: CompileRequest): Promise<Artifact>;
  attach(request: AttachRequest): Promise<Attachment>;
  /**
   * Optional: the code an artifact of this backend holds, as text lines for people (for eBPF,
   * the instructions with their policy source positions), for `syrup disasm`.
   */
  describe?(artifact: Artifact): readonly string[];
  /**
   * Optional: has the artifact's code checked where it would run (the kernel's verifier) without
   * attaching it, and releases whatever that took. Throws the checker's refusal, carrying the
   * policy position in `location` when it is known. It may need privileges (root for the
   * eBPF backend); `syrup check` calls it only when it runs as root.
   */
  verify?(artifact: Artifact): Promise<void>;
  /**
   * Optional: rebuilds an attachment from a record its `persist` wrote, after checking every
   * object's identity (the backend's own data in the record) against what it finds. Refuses
   * with a `RestoreError`.
   */
  restore?(request: RestoreRequest): Promise<Attachment>;
  /**
   * Optional, with `persist`: undoes, after a crash, what an unfinished deploy, replace or
   * undeploy of this backend left in the kernel (see `AbandonRequest`): detaches what steers
   * the target from the location's objects and removes every pin in the location's pin
   * directory, leaving the target at its default. It touches nothing it cannot prove is this
   * deployment's, and is harmless when nothing was left. The runtime removes the directories.
   */
  abandon?(request: AbandonRequest): Promise<void>;
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
