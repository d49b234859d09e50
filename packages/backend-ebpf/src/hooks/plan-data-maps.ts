import type { DataMapSpec, DataMapStore } from '@syrup/maps';
import type { ProgramSpec } from '../codegen/program-spec.js';
import { KernelMapError } from '../errors/kernel-map-error.js';
import { KernelDataMapStore } from '../maps/kernel-data-map-store.js';
import type { Syscalls } from '../syscalls/syscalls.js';

/** The data maps one program loads with, and which of them were made for it. */
export interface DataMapPlan {
  /** Every data map of the program by the policy's name: kept, shared or created. */
  readonly maps: ReadonlyMap<string, KernelDataMapStore>;
  /** The maps created for this plan; whoever adopts the plan owns and closes them. */
  readonly created: readonly KernelDataMapStore[];
}

export interface PlanDataMapsOptions {
  /** Maps of the program being replaced: one with the same name and shape is kept, so its contents survive the swap. */
  readonly current?: ReadonlyMap<string, KernelDataMapStore>;
  /** Maps shared with other deployments by name (cross-layer maps); borrowed, never closed here. */
  readonly shared?: ReadonlyMap<string, DataMapStore>;
  /** The hook the program runs at, as a refusal of a shared map names it; socket-select by default. */
  readonly hook?: string;
  readonly sys?: Syscalls;
}

/**
 * Chooses a kernel map for every data map a program declares, for every hook of this backend
 * (socket-select, the XDP hooks). The hook creates the maps
 * itself (rather than letting `loadProgramSpec` do it) because across hot swaps a map
 * outlives the program that created it: the attachment, not a program, owns them. Arrays
 * are created mmapable, as `loadProgramSpec` would, so userspace `fetchAdd` stays atomic.
 * On failure every map created here is closed again.
 */
export function planDataMaps(spec: ProgramSpec, options: PlanDataMapsOptions = {}): DataMapPlan {
  const maps = new Map<string, KernelDataMapStore>();
  const created: KernelDataMapStore[] = [];
  try {
    for (const mapSpec of spec.maps) {
      const dataSpec = mapSpec.dataSpec;
      if (dataSpec === undefined) continue;
      const kept = options.current?.get(mapSpec.name);
      if (kept !== undefined && sameShape(kept.spec, dataSpec)) {
        maps.set(mapSpec.name, kept);
        continue;
      }
      const shared = options.shared?.get(mapSpec.name);
      if (shared !== undefined) {
        maps.set(mapSpec.name, sharedKernelMap(mapSpec.name, shared, dataSpec, options.hook ?? 'socket-select'));
        continue;
      }
      const store = KernelDataMapStore.create(dataSpec, {
        name: mapSpec.name,
        mmapable: dataSpec.kind === 'array',
        ...(options.sys === undefined ? {} : { sys: options.sys }),
      });
      created.push(store);
      maps.set(mapSpec.name, store);
    }
    return { maps, created };
  } catch (error) {
    for (const store of created) store.close();
    throw error;
  }
}

/** The maps of `plan` the deployment owns: every one but those borrowed from `shared`. */
export function ownedMaps(plan: DataMapPlan, shared: ReadonlyMap<string, DataMapStore> | undefined): Map<string, KernelDataMapStore> {
  return new Map([...plan.maps].filter(([name, store]) => shared?.get(name) !== store));
}

/** Same kind, key, value and size: what a program can use in place of the map it declares. */
function sameShape(a: DataMapSpec, b: DataMapSpec): boolean {
  return a.kind === b.kind && a.key === b.key && a.value === b.value && a.maxEntries === b.maxEntries;
}

function sharedKernelMap(name: string, shared: DataMapStore, declared: DataMapSpec, hook: string): KernelDataMapStore {
  if (!(shared instanceof KernelDataMapStore)) {
    throw new KernelMapError('KERNEL_MAP_INCOMPATIBLE', `shared map '${name}' is not a kernel map, so a program at ${hook} cannot use it.`);
  }
  if (!sameShape(shared.spec, declared)) {
    throw new KernelMapError(
      'KERNEL_MAP_INCOMPATIBLE',
      `map '${name}' is declared as ${declared.kind} with ${declared.maxEntries} entries, but the shared map is ${shared.spec.kind} with ${shared.spec.maxEntries}.`,
    );
  }
  return shared;
}
