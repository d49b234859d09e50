/** Let the system's default scheduling decide. */
export const PASS: unique symbol = Symbol.for('@syrup/core.PASS');
/** Drop the input. */
export const DROP: unique symbol = Symbol.for('@syrup/core.DROP');

export type Pass = typeof PASS;
export type Drop = typeof DROP;

/** An executor's index at the hook: the k-th socket of a group, a CPU, a queue, a core. */
export type ExecutorKey = number;

/** What `schedule` returns. */
export type Verdict = ExecutorKey | Pass | Drop;

/** The kinds of executor the standard hooks choose among. */
export const EXECUTOR_KINDS = ['socket', 'xsk', 'cpu', 'nic-queue', 'core'] as const;
export type StandardExecutorKind = (typeof EXECUTOR_KINDS)[number];
/**
 * The kind of executor a hook chooses among: a standard one, or one a third-party backend
 * names for its own hook (a storage queue, a switch port). Core only reports it to people.
 */
export type ExecutorKind = StandardExecutorKind | (string & {});
