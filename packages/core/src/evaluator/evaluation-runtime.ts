import type { PolicyMapAccess } from './policy-map-access.js';

/**
 * What a running policy reaches outside its registers: its maps (in manifest order), the
 * helpers, and the CPU it runs on. Both evaluation engines take the same runtime, which is how
 * tests make them agree: same maps, same `random` and `now` sequences.
 */
export interface EvaluationRuntime {
  /** The policy's maps by name. */
  readonly maps: ReadonlyMap<string, PolicyMapAccess>;
  /** A u32 (already masked). */
  readonly random: () => bigint;
  /** Monotonic nanoseconds as a u64. */
  readonly now: () => bigint;
}
