import type { HookId } from '../hook/hook-spec.js';
import type { PolicyIr } from '../ir/policy-ir.js';
import type { DeployTarget, SharedMaps } from './deploy-target.js';

/** A JSON value, so that a persisted record survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A JSON object: what a backend keeps about one object (its identity) or one attachment (its data). */
export type JsonObject = Readonly<Record<string, JsonValue>>;

/**
 * Where one deployment keeps what outlives its process, created by the runtime before
 * `persist` and `restore`, and removed by it with the deployment:
 * - `stateDir`, on an ordinary file system, root-owned and traversable (0755): any backend's
 *   files (a userspace agent's queue state, a snapshot of its maps). Files the tenant may
 *   read are handed to it by the backend (chown to `tenant`, mode 0600); the rest stay root's.
 * - `pinDir`, on bpffs, for backends that pin kernel objects; absent when the runtime has no
 *   pin root, and a backend that needs it refuses to persist without it.
 */
export interface PersistenceLocation {
  readonly stateDir: string;
  readonly pinDir?: string;
  /**
   * A root-owned directory on bpffs (under the same pin root) for kernel objects several
   * deployments share, such as an interface's XDP dispatcher; backends make their own
   * subdirectories in it, root-only. Absent with `pinDir`.
   */
  readonly sharedPinDir?: string;
  /** The deployment's owner: only what is the tenant's (its data maps) is given to it. */
  readonly tenant: { readonly uid: number; readonly gid: number };
}

/**
 * One object a deployment persisted, named generically: the runtime stores it in its state
 * file and hands it back to the backend on restore, and never interprets `kind` or
 * `identity`. The backend checks the identity itself before trusting what it finds (for a
 * pinned eBPF object: its pin path, kernel id and, for a program, its tag; a path alone
 * proves nothing).
 */
export interface PersistedObjectRecord {
  /** The backend's own kind of object (`prog`, `map`, `link`, `queue-file`...). */
  readonly kind: string;
  /** What the object is to the backend (`program`, `executors`, `data-map`...). */
  readonly role: string;
  /** Data maps: the policy's map name. */
  readonly name?: string;
  /** The backend's own data that tells this object from any other one at the same place. */
  readonly identity: JsonObject;
}

/**
 * What an attachment leaves behind to be found again after its process is gone: a
 * JSON-serialisable record, written by the runtime to its state file. `data` is the
 * backend's own (the socket group's address and inodes, for example).
 */
export interface PersistedAttachment {
  readonly backend: string;
  readonly hook: HookId;
  /** The process the deployment follows, when it follows one. */
  readonly pid?: number;
  readonly objects: readonly PersistedObjectRecord[];
  readonly data: JsonObject;
}

/** The process a restored deployment follows: its pid and start time (clock ticks after boot), which together survive no pid reuse. */
export interface TargetProcess {
  readonly pid: number;
  readonly startTime: string;
}

export interface RestoreRequest {
  readonly record: PersistedAttachment;
  /**
   * The deployment's policy as the runtime recovered it (the IR its state file recorded, or
   * compiled once in the worker): what a backend that keeps no code in the kernel (a
   * userspace agent) runs again. The runtime always sets it; a backend whose code stays pinned
   * in the kernel ignores it (and checks the pinned program's identity instead), so a test may
   * restore such a backend from a record alone.
   */
  readonly ir?: PolicyIr;
  readonly location: PersistenceLocation;
  readonly target: DeployTarget;
  readonly process?: TargetProcess;
  /**
   * Maps the deployment shares by name that the runtime already holds again (restored by a
   * deployment whose maps live in the kernel, see `HookSpec.mapStore`). A backend whose maps
   * live in userspace memory uses these rather than making new ones, as at attach.
   */
  readonly sharedMaps?: SharedMaps;
}

/**
 * What recovery asks a backend to undo for a deployment a crashed daemon left unfinished: a
 * deploy that never got recorded, a replace or undeploy whose record no longer restores. The
 * runtime wrote the intent (hook, target, location) before anything was attached, so this is
 * all a backend may have touched: the objects it pinned in `location` before attaching (see
 * `AttachRequest.location`) and, found by `target`, what steers that target from them.
 */
export interface AbandonRequest {
  readonly hook: HookId;
  readonly target: DeployTarget;
  readonly location: PersistenceLocation;
  /** The deployment's record, when it had one (a replace or undeploy); absent for a deploy. */
  readonly record?: PersistedAttachment;
}
