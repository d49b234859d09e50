/**
 * Where a decision puts a thread (the thread hook's verdicts): `run` on one CPU ahead of
 * deferred and unmanaged threads (core k), `kernel` (PASS: the kernel's scheduler, as before
 * the enclave), `defer` (DROP: only where a CPU would otherwise idle).
 */
export type Placement = { readonly kind: 'run'; readonly cpu: number } | { readonly kind: 'kernel' } | { readonly kind: 'defer' };

/**
 * A decision on its way to the kernel (ghOSt's run request). `barrier` is the thread's seq
 * the decision saw; the driver commits it only if the thread has not changed since.
 */
export interface GhostTransaction {
  readonly tid: number;
  readonly barrier: number;
  readonly placement: Placement;
}

/**
 * How a commit ended. Failures are data, as ghOSt's GHOST_TXN_* states:
 * - `stale`: the thread changed after the decision (its seq moved past the barrier);
 * - `not-runnable`: it blocked;
 * - `cpu-gone`: the CPU is offline or outside what the thread may use;
 * - `dead`: the thread no longer exists.
 */
export type TransactionOutcome = 'committed' | 'stale' | 'not-runnable' | 'cpu-gone' | 'dead';

export function describePlacement(placement: Placement): string {
  return placement.kind === 'run' ? `run on CPU ${placement.cpu}` : placement.kind === 'kernel' ? 'kernel' : 'defer';
}
