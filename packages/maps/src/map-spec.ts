import { z } from 'zod';
import { MapError } from './errors.js';

/** The data-map kinds a policy may declare; system maps are backend machinery and never appear here. */
export const DATA_MAP_KINDS = ['array', 'hash', 'percpu-array', 'lru-hash'] as const;
export type DataMapKind = (typeof DATA_MAP_KINDS)[number];

/**
 * The kernel caps a map's entry count by memory, not by a fixed number; this bound keeps a
 * single declaration from asking for gigabytes and is far above what a scheduling policy needs.
 */
export const MAX_DATA_MAP_ENTRIES = 1 << 24;

export const DataMapSpecSchema = z
  .object({
    kind: z.enum(DATA_MAP_KINDS),
    key: z.literal('u32'),
    value: z.literal('u64'),
    maxEntries: z.number().int().min(1).max(MAX_DATA_MAP_ENTRIES),
  })
  .strict();

/** A data map's declaration: `{ kind: 'array', key: 'u32', value: 'u64', maxEntries: 1 }`. */
export interface DataMapSpec {
  readonly kind: DataMapKind;
  readonly key: 'u32';
  readonly value: 'u64';
  readonly maxEntries: number;
}

/** True for kinds that hold one value per CPU under each key. */
export function isPerCpuKind(kind: DataMapKind): boolean {
  return kind === 'percpu-array';
}

/** True for kinds whose keys are the fixed range [0, maxEntries) and always present. */
export function isArrayKind(kind: DataMapKind): boolean {
  return kind === 'array' || kind === 'percpu-array';
}

/**
 * Validates an untrusted map declaration at the boundary; `where` names it in the message
 * (for example `map 'next'`).
 */
export function parseDataMapSpec(input: unknown, where = 'map'): DataMapSpec {
  const result = DataMapSpecSchema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? ` field '${issue.path.join('.')}'` : '';
  const reason = issue?.message ?? 'invalid declaration';
  throw new MapError('MAP_SPEC_INVALID', `${where}${path}: ${reason}.`, { cause: result.error });
}
