import type { HookId } from '../hook/hook-spec.js';
import type { DeployTarget } from './backend.js';

/** A JSON value, so that a persisted record survives `JSON.stringify` / `JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/**
 * The directory one deployment's pins live in (created by the runtime, root-owned), and the
 * tenant its data maps belong to: only data-map pins are given to the tenant (mode 0600),
 * programs, links and system maps stay root-only.
 */
export interface PinDirectory {
  readonly path: string;
  readonly tenant: { readonly uid: number; readonly gid: number };
  /**
   * A root-owned directory (under the same pin root) for kernel objects several deployments
   * share, such as an interface's XDP dispatcher; backends make their own subdirectories in it,
   * root-only. Without it a backend uses `shared` next to `path`.
   */
  readonly shared?: string;
}

/**
 * One kernel object pinned for a deployment: where (relative to the pin directory), what, and
 * the identity recovery checks before trusting what it finds at that path (a path alone proves
 * nothing: ids are unique while the object lives, and a program's tag is the hash of its code).
 */
export interface PinnedObjectRecord {
  /** Path relative to the deployment's pin directory, such as `prog` or `maps/next`. */
  readonly pin: string;
  readonly kind: 'prog' | 'map' | 'link';
  /** What the object is to the backend (`program`, `executors`, `data-map`...). */
  readonly role: string;
  readonly id: number;
  /** Programs only: the kernel's tag (16 hex digits). */
  readonly tag?: string;
  /** Data maps: the policy's map name. */
  readonly name?: string;
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
  readonly objects: readonly PinnedObjectRecord[];
  readonly data: Readonly<Record<string, JsonValue>>;
}

/** The process a restored deployment follows: its pid and start time (clock ticks after boot), which together survive no pid reuse. */
export interface TargetProcess {
  readonly pid: number;
  readonly startTime: string;
}

export interface RestoreRequest {
  readonly record: PersistedAttachment;
  readonly dir: PinDirectory;
  readonly target: DeployTarget;
  readonly process?: TargetProcess;
}
