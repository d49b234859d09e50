import type { DataMapStore } from '@syrup/maps';
import type { PolicyDecision } from '../../src/evaluator/policy-decision.js';

/** A decision as a short string: `3`, `PASS` or `DROP`. */
export function show(decision: PolicyDecision): string {
  return decision.kind === 'executor' ? String(decision.key) : decision.kind.toUpperCase();
}

/** Every present entry of every store, as `name[key]=slot,slot` strings in store order. */
export function dumpMaps(maps: ReadonlyMap<string, DataMapStore>): string[] {
  const out: string[] = [];
  for (const [name, store] of maps) {
    // Keys first: a lookup refreshes an LRU entry, which would reorder the walk.
    const keys: number[] = [];
    for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) keys.push(key);
    for (const key of keys) {
      const slots = store.lookup(key);
      if (slots) out.push(`${name}[${key}]=${slots.join(',')}`);
    }
  }
  return out;
}

/** A payload of big-endian u32 words. */
export function words(...values: number[]): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  values.forEach((v, i) => view.setUint32(i * 4, v));
  return bytes;
}
