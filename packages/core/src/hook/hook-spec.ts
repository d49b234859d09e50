import type { InputKind } from '../policy/inputs.js';
import type { ExecutorKind } from '../policy/verdict.js';
import { STANDARD_TARGETS } from './standard-targets.js';
import type { TargetSchema } from './target-fields.js';

/** The hooks of the design's table. Backends may declare others: core never names a backend. */
export const STANDARD_HOOK_IDS = ['socket-select', 'xdp-skb', 'xdp-drv', 'cpu-redirect', 'xdp-offload', 'thread'] as const;
export type StandardHookId = (typeof STANDARD_HOOK_IDS)[number];

/** A hook id: a standard one, or one a third-party backend declares. */
export type HookId = StandardHookId | (string & {});

/** Where a policy can run: which inputs it accepts and what kind of executor it picks. */
export interface HookSpec {
  readonly id: HookId;
  /** The layer of the system, for people: `kernel socket layer`, `driver XDP`, `thread scheduler`. */
  readonly layer: string;
  readonly inputs: readonly InputKind[];
  readonly executor: ExecutorKind;
  /** Whether a policy may answer PASS/DROP here (every standard hook allows both). */
  readonly verdicts: readonly ('pass' | 'drop')[];
  /**
   * Where the hook's code reads its data maps: `kernel` (a program in the kernel: its maps
   * must be kernel maps) or `userspace` (a backend evaluating in a process: any
   * `DataMapStore` serves, a kernel map included). Absent means `kernel`, the safe reading.
   * A map shared by name is a kernel map whenever a kernel map provider is registered, so that
   * any hook can join it later whatever the deploy order; the runtime also restores deployments
   * at `kernel` hooks first, since they bring shared maps back from their pins.
   */
  readonly mapStore?: MapStoreKind;
  /**
   * The target's fields (zod, flat: fields other than the wire's own travel in `extra`), which
   * the runtime checks before any backend sees the target; `targetFieldsOf` lists them for
   * people and the CLI. A hook without one takes any target and its backend validates it.
   */
  readonly target?: TargetSchema;
  /**
   * Target fields only an embedded caller can pass (live sockets, programs: descriptors of the
   * process that runs the runtime), each with the one sentence that refuses it from a remote
   * caller, for whom it would name the daemon's descriptors.
   */
  readonly localOnly?: Readonly<Record<string, string>>;
}

/** Where a data map lives: a kernel map, or memory of a process. */
export type MapStoreKind = 'kernel' | 'userspace';

const BOTH = ['pass', 'drop'] as const;

/** The standard hooks (docs/architecture.md); backends declare these specs for the hooks they provide. */
export const STANDARD_HOOKS: Readonly<Record<StandardHookId, HookSpec>> = Object.freeze({
  'socket-select': {
    id: 'socket-select',
    layer: 'kernel socket layer',
    inputs: ['udp', 'tcp'],
    executor: 'socket',
    verdicts: BOTH,
    mapStore: 'kernel',
    target: STANDARD_TARGETS['socket-select'],
    localOnly: { sockets: 'extra.sockets works only in embedded mode; name the target by port and pid instead.' },
  },
  'xdp-skb': { id: 'xdp-skb', layer: 'kernel, generic XDP', inputs: ['packet', 'udp'], executor: 'xsk', verdicts: BOTH, mapStore: 'kernel', target: STANDARD_TARGETS['xdp-skb'] },
  'xdp-drv': { id: 'xdp-drv', layer: 'driver XDP', inputs: ['packet', 'udp'], executor: 'xsk', verdicts: BOTH, mapStore: 'kernel', target: STANDARD_TARGETS['xdp-drv'] },
  'cpu-redirect': { id: 'cpu-redirect', layer: 'driver/generic XDP', inputs: ['packet', 'udp'], executor: 'cpu', verdicts: BOTH, mapStore: 'kernel', target: STANDARD_TARGETS['cpu-redirect'] },
  'xdp-offload': { id: 'xdp-offload', layer: 'SmartNIC (Netronome NFP)', inputs: ['packet', 'udp'], executor: 'nic-queue', verdicts: BOTH, mapStore: 'kernel', target: STANDARD_TARGETS['xdp-offload'] },
  thread: { id: 'thread', layer: 'thread scheduler', inputs: ['thread'], executor: 'core', verdicts: BOTH, mapStore: 'userspace', target: STANDARD_TARGETS['thread'] },
} satisfies Record<StandardHookId, HookSpec>);
