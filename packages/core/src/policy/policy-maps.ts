import type { DataMapSpec } from '@syrup/maps';

/**
 * A data map as policy code sees it: u64 values typed `number` so editors check the code.
 * `get` answers 0 for an absent key; `set` on a full hash does nothing; on a per-CPU map every
 * operation uses this CPU's slot; `fetchAdd` on an absent hash key inserts the delta and
 * returns 0.
 */
export interface PolicyMap {
  get(key: number): number;
  set(key: number, value: number): void;
  delete(key: number): void;
  fetchAdd(key: number, delta: number): number;
  compareExchange(key: number, expected: number, value: number): number;
}

/** The policy-side maps of a record of declarations. */
export type PolicyMapsOf<M extends Record<string, DataMapSpec>> = { readonly [K in keyof M]: PolicyMap };

/** Compile-time constants folded into the code; deploying with other params compiles again. */
export type PolicyParams = Readonly<Record<string, number | bigint>>;
