import type { InputKind } from '../policy/inputs.js';
import type { ExecutorKind } from '../policy/verdict.js';

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
  /** Optional: the names of the target fields this hook takes, for listings (see hookTargetFields). */
  readonly targetFields?: readonly string[];
}

const BOTH = ['pass', 'drop'] as const;

/** The standard hooks as DESIGN.md lists them; backends declare these specs for the hooks they provide. */
export const STANDARD_HOOKS: Readonly<Record<StandardHookId, HookSpec>> = Object.freeze({
  'socket-select': { id: 'socket-select', layer: 'kernel socket layer', inputs: ['udp', 'tcp'], executor: 'socket', verdicts: BOTH },
  'xdp-skb': { id: 'xdp-skb', layer: 'kernel, generic XDP', inputs: ['packet', 'udp'], executor: 'xsk', verdicts: BOTH },
  'xdp-drv': { id: 'xdp-drv', layer: 'driver XDP', inputs: ['packet', 'udp'], executor: 'xsk', verdicts: BOTH },
  'cpu-redirect': { id: 'cpu-redirect', layer: 'driver/generic XDP', inputs: ['packet', 'udp'], executor: 'cpu', verdicts: BOTH },
  'xdp-offload': { id: 'xdp-offload', layer: 'SmartNIC (Netronome NFP)', inputs: ['packet', 'udp'], executor: 'nic-queue', verdicts: BOTH },
  thread: { id: 'thread', layer: 'thread scheduler', inputs: ['thread'], executor: 'core', verdicts: BOTH },
} satisfies Record<StandardHookId, HookSpec>);
