import type { PinnedObject } from '../../pin/pinned-object.js';
import type { Syscalls } from '../../syscalls/syscalls.js';

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

/**
 * What identifies an interface's dispatcher within this process and names its pin directory:
 * `<netns identity>/<ifindex>` (interface indexes are unique only within a namespace).
 */
export function dispatcherKey(netnsId: string, ifindex: number): string {
  return `${netnsId}/${ifindex}`;
}

/** The directory of a dispatcher's pins under the shared pin directory: `xdp-<netns>-<ifindex>`. */
export function dispatcherDirName(key: string): string {
  return `xdp-${key.replace(/[:/]/g, '-')}`;
}
