import { availableParallelism } from 'node:os';
import { isPerCpuKind, type DataMapSpec } from '@syrup/maps';

/** Data maps have u32 keys and u64 values (docs/architecture.md; the policy language reference in packages/core/docs/policy-language.md). */
const KEY_BYTES = 4;
const VALUE_BYTES = 8;

/**
 * The memory a policy's data maps ask the kernel for, as the limit counts it: maxEntries x
 * (key + value size), with a per-CPU map's value counted once per CPU (the kernel allocates
 * one slot per CPU). Bookkeeping overhead is left out: the limit is about what a tenant declares.
 */
export function mapMemoryBytes(maps: Readonly<Record<string, DataMapSpec>>, cpus: number = availableParallelism()): number {
  let bytes = 0;
  for (const spec of Object.values(maps)) {
    bytes += spec.maxEntries * (KEY_BYTES + VALUE_BYTES * (isPerCpuKind(spec.kind) ? cpus : 1));
  }
  return bytes;
}
