import type { SeededRandom } from '@syrup/core/testing';
import { isArrayKind, isPerCpuKind, type DataMapSpec, type DataMapStore } from '@syrup/maps';

/** Contents of a policy's maps: map name -> key -> slots (one per possible CPU for per-CPU kinds). */
export type MapImage = ReadonlyMap<string, ReadonlyMap<number, readonly bigint[]>>;

const INTERESTING: readonly bigint[] = [0n, 1n, 2n, 3n, 5n, 0xffn, 0xffff_ffffn, 0x1_0000_0000n, 1n << 63n, 0xffff_ffff_ffff_fffen, 0xffff_ffff_ffff_ffffn];

function randomValue(rng: SeededRandom): bigint {
  const choice = rng.int(4);
  if (choice === 0) return BigInt(rng.range(0, 9));
  if (choice === 1) return rng.pick(INTERESTING);
  if (choice === 2) return BigInt(rng.u32());
  return rng.u64();
}

/**
 * Random starting contents: arrays with some keys set, hashes with keys where generated code
 * aims (small numbers; it takes keys modulo 2, 4, 8 or 17), now and then full so that inserts
 * meet a full map, per-CPU arrays with a different value in every CPU's slot.
 */
export function randomImage(rng: SeededRandom, maps: Readonly<Record<string, DataMapSpec>>, cpus: number): MapImage {
  const image = new Map<string, Map<number, bigint[]>>();
  for (const [name, spec] of Object.entries(maps)) {
    const entries = new Map<number, bigint[]>();
    const slots = isPerCpuKind(spec.kind) ? cpus : 1;
    if (isArrayKind(spec.kind)) {
      for (let key = 0; key < spec.maxEntries; key++) {
        entries.set(key, Array.from({ length: slots }, () => (rng.chance(0.6) ? randomValue(rng) : 0n)));
      }
    } else {
      const count = rng.chance(0.3) ? spec.maxEntries : rng.int(spec.maxEntries + 1);
      for (let attempts = 0; entries.size < count && attempts < 100; attempts++) {
        entries.set(rng.chance(0.8) ? rng.range(0, 17) : rng.u32(), [randomValue(rng)]);
      }
    }
    image.set(name, entries);
  }
  return image;
}

/** Writes an image into stores (kernel or in-memory: both are DataMapStores), replacing what they held. */
export function writeImage(stores: ReadonlyMap<string, DataMapStore>, image: MapImage): void {
  for (const [name, store] of stores) {
    const entries = image.get(name) ?? new Map<number, readonly bigint[]>();
    if (!isArrayKind(store.spec.kind)) {
      const stale: number[] = [];
      for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) if (!entries.has(key)) stale.push(key);
      for (const key of stale) store.delete(key);
    } else {
      const zeros = new Array<bigint>(store.slotsPerKey).fill(0n);
      for (let key = 0; key < store.spec.maxEntries; key++) if (!entries.has(key)) store.update(key, zeros);
    }
    for (const [key, slots] of entries) store.update(key, slots);
  }
}

/** Reads every entry of every store (a walk with nextKey and lookup, the DataMapStore contract). */
export function snapshot(stores: ReadonlyMap<string, DataMapStore>): MapImage {
  const image = new Map<string, Map<number, readonly bigint[]>>();
  for (const [name, store] of stores) {
    const entries = new Map<number, readonly bigint[]>();
    for (let key = store.nextKey(); key !== undefined; key = store.nextKey(key)) {
      const slots = store.lookup(key);
      if (slots !== undefined) entries.set(key, [...slots]);
    }
    image.set(name, entries);
  }
  return image;
}

/**
 * The entries where two images differ, one line each: `m1[4]: kernel 7, evaluator 8`, with
 * `(cpu n)` for a per-CPU slot. Empty when they agree.
 */
export function diffImages(kernel: MapImage, evaluator: MapImage): string[] {
  const lines: string[] = [];
  for (const name of new Set([...kernel.keys(), ...evaluator.keys()])) {
    const k = kernel.get(name) ?? new Map<number, readonly bigint[]>();
    const e = evaluator.get(name) ?? new Map<number, readonly bigint[]>();
    const keys = [...new Set([...k.keys(), ...e.keys()])].sort((a, b) => a - b);
    for (const key of keys) {
      const ks = k.get(key);
      const es = e.get(key);
      if (ks === undefined || es === undefined) {
        lines.push(`${name}[${key}]: kernel ${ks === undefined ? 'absent' : formatSlots(ks)}, evaluator ${es === undefined ? 'absent' : formatSlots(es)}`);
        continue;
      }
      for (let slot = 0; slot < Math.max(ks.length, es.length); slot++) {
        if (ks[slot] === es[slot]) continue;
        const cpu = ks.length > 1 || es.length > 1 ? ` (cpu ${slot})` : '';
        lines.push(`${name}[${key}]${cpu}: kernel ${formatValue(ks[slot])}, evaluator ${formatValue(es[slot])}`);
      }
    }
  }
  return lines;
}

/** An image as text, one map per line: `m0: {0: 5, 3: 0xffffffffffffffff}`. */
export function formatImage(image: MapImage, specs: Readonly<Record<string, DataMapSpec>>): string {
  if (image.size === 0) return '(no maps)';
  return [...image]
    .map(([name, entries]) => {
      const spec = specs[name];
      const what = spec === undefined ? '' : ` (${spec.kind}, ${spec.maxEntries} entries)`;
      const body = [...entries]
        .sort(([a], [b]) => a - b)
        .map(([key, slots]) => `${key}: ${formatSlots(slots)}`)
        .join(', ');
      return `${name}${what}: {${body}}`;
    })
    .join('\n');
}

function formatSlots(slots: readonly bigint[]): string {
  return slots.length === 1 ? formatValue(slots[0]) : `[${slots.map(formatValue).join(', ')}]`;
}

function formatValue(value: bigint | undefined): string {
  if (value === undefined) return 'none';
  return value > 0xffff_ffffn ? `0x${value.toString(16)}` : String(value);
}
