import type { DataMapSpec } from '@syrup/maps';
import { sourceOfSlot, type ProgramMapSpec, type ProgramSpec } from '../codegen/program-spec.js';
import { KernelMapError } from '../errors/kernel-map-error.js';
import { KernelDataMapStore } from '../maps/kernel-data-map-store.js';
import { KernelMap } from '../maps/kernel-map.js';
import { Program, type ProgramLoadOptions } from '../programs/program.js';
import type { ProgramLoadSpec } from '../programs/program-load-spec.js';
import type { Syscalls } from '../syscalls/syscalls.js';

export interface LoadProgramSpecOptions {
  /**
   * Data maps to use instead of creating them, by the policy's map name: a map shared with
   * another deployment, or the maps of the policy being replaced. Borrowed, never closed here.
   */
  readonly dataMaps?: ReadonlyMap<string, KernelDataMapStore>;
  /** System maps to use instead of creating them (`.executors` of a running hook). Borrowed. */
  readonly systemMaps?: ReadonlyMap<string, KernelMap>;
  /** Entries of a created `.executors` map, when the hook knows how many executors it has. */
  readonly executorEntries?: number;
  readonly logLevel?: 1 | 2;
  /**
   * Load the program and create every map it creates (borrowed ones are as they are) on the
   * network device with this index, whose driver runs BPF (offload).
   */
  readonly offloadIfindex?: number;
  readonly sys?: Syscalls;
}

/**
 * A generated program loaded into the kernel with its maps. It owns the program and the maps
 * it created; borrowed maps stay open when it closes. Closing twice is harmless.
 */
export class LoadedProgram implements Disposable {
  readonly program: Program;
  /** Every data map of the policy by name, created or borrowed. */
  readonly dataMaps: ReadonlyMap<string, KernelDataMapStore>;
  /** Every system map (`.executors`, `.result`) by name, created or borrowed. */
  readonly systemMaps: ReadonlyMap<string, KernelMap>;
  readonly #owned: readonly Disposable[];
  #closed = false;

  constructor(
    program: Program,
    dataMaps: ReadonlyMap<string, KernelDataMapStore>,
    systemMaps: ReadonlyMap<string, KernelMap>,
    owned: readonly Disposable[],
  ) {
    this.program = program;
    this.dataMaps = dataMaps;
    this.systemMaps = systemMaps;
    this.#owned = owned;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.program.close();
    for (const resource of this.#owned) resource[Symbol.dispose]();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Turns a generated {@link ProgramSpec} into live kernel objects: creates (or borrows) every
 * map it names, binds their fds to the symbolic references, and loads the program with its
 * BTF line info so a verifier rejection points at the policy's TypeScript line. Array data
 * maps are created mmapable, so applications get atomic `fetchAdd` on them. On any failure
 * every object created here is closed again.
 */
export function loadProgramSpec(spec: ProgramSpec, options: LoadProgramSpecOptions = {}): LoadedProgram {
  const owned: Disposable[] = [];
  try {
    const maps = createMaps(spec, options, owned);
    const program = Program.load(programLoadSpec(spec, maps.fds), programLoadOptions(options));
    return new LoadedProgram(program, maps.dataMaps, maps.systemMaps, owned);
  } catch (error) {
    for (const resource of owned.reverse()) resource[Symbol.dispose]();
    throw error;
  }
}

/**
 * `loadProgramSpec` with the verifier run off the event loop (`Program.loadAsync`): the hooks'
 * deploy and replace of untrusted policies use it, so one tenant's verifier-bound program
 * does not stall the daemon's other clients. Map creation stays synchronous (bounded work).
 */
export async function loadProgramSpecAsync(spec: ProgramSpec, options: LoadProgramSpecOptions = {}): Promise<LoadedProgram> {
  const owned: Disposable[] = [];
  try {
    const maps = createMaps(spec, options, owned);
    const program = await Program.loadAsync(programLoadSpec(spec, maps.fds), programLoadOptions(options));
    return new LoadedProgram(program, maps.dataMaps, maps.systemMaps, owned);
  } catch (error) {
    for (const resource of owned.reverse()) resource[Symbol.dispose]();
    throw error;
  }
}

/** Creates or borrows every map the spec names; what it creates is pushed on `owned`. */
function createMaps(
  spec: ProgramSpec,
  options: LoadProgramSpecOptions,
  owned: Disposable[],
): { dataMaps: Map<string, KernelDataMapStore>; systemMaps: Map<string, KernelMap>; fds: Map<string, KernelMap> } {
  const dataMaps = new Map<string, KernelDataMapStore>();
  const systemMaps = new Map<string, KernelMap>();
  const fds = new Map<string, KernelMap>();
  for (const mapSpec of spec.maps) {
    if (mapSpec.dataSpec !== undefined) {
      const store = dataMapFor(mapSpec, mapSpec.dataSpec, options, owned);
      dataMaps.set(mapSpec.name, store);
      fds.set(mapSpec.name, store.kernelMap);
    } else {
      const map = systemMapFor(mapSpec, options, owned);
      systemMaps.set(mapSpec.name, map);
      fds.set(mapSpec.name, map);
    }
  }
  return { dataMaps, systemMaps, fds };
}

function programLoadSpec(spec: ProgramSpec, fds: ReadonlyMap<string, KernelMap>): ProgramLoadSpec {
  return {
    name: spec.name,
    type: spec.programTypeNumber,
    ...(spec.expectedAttachTypeNumber === undefined ? {} : { expectedAttachType: spec.expectedAttachTypeNumber }),
    license: spec.license,
    instructions: spec.instructions,
    maps: fds,
    btf: { blob: spec.btf.blob, lineInfo: spec.btf.lineInfo, funcInfo: spec.btf.funcInfo },
    sourceOfSlot: (slot) => sourceOfSlot(spec, slot),
  };
}

function programLoadOptions(options: LoadProgramSpecOptions): ProgramLoadOptions {
  return {
    ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }),
    ...(options.offloadIfindex === undefined ? {} : { offloadIfindex: options.offloadIfindex }),
    ...(options.sys ? { sys: options.sys } : {}),
  };
}

function dataMapFor(
  mapSpec: ProgramMapSpec,
  dataSpec: DataMapSpec,
  options: LoadProgramSpecOptions,
  owned: Disposable[],
): KernelDataMapStore {
  const borrowed = options.dataMaps?.get(mapSpec.name);
  if (borrowed !== undefined) {
    if (borrowed.spec.kind !== dataSpec.kind || borrowed.spec.maxEntries !== dataSpec.maxEntries) {
      throw new KernelMapError(
        'KERNEL_MAP_INCOMPATIBLE',
        `map '${mapSpec.name}' is declared as ${dataSpec.kind} with ${dataSpec.maxEntries} entries, but the map to reuse is ${borrowed.spec.kind} with ${borrowed.spec.maxEntries}.`,
      );
    }
    return borrowed;
  }
  const store = KernelDataMapStore.create(dataSpec, {
    name: mapSpec.name,
    // An offloaded map lives in the device's memory, which userspace cannot mmap.
    mmapable: dataSpec.kind === 'array' && options.offloadIfindex === undefined,
    ...(options.offloadIfindex === undefined ? {} : { offloadIfindex: options.offloadIfindex }),
    ...(options.sys ? { sys: options.sys } : {}),
  });
  owned.push(store);
  return store;
}

function systemMapFor(mapSpec: ProgramMapSpec, options: LoadProgramSpecOptions, owned: Disposable[]): KernelMap {
  const borrowed = options.systemMaps?.get(mapSpec.name);
  if (borrowed !== undefined) return borrowed;
  const isExecutors = mapSpec.role === 'executors';
  const map = KernelMap.create(
    {
      type: mapSpec.mapType,
      keySize: mapSpec.keySize,
      valueSize: mapSpec.valueSize,
      maxEntries: isExecutors && options.executorEntries !== undefined ? options.executorEntries : mapSpec.maxEntries,
      name: mapSpec.name.replace(/^\./, ''),
    },
    {
      ...(options.offloadIfindex === undefined ? {} : { offloadIfindex: options.offloadIfindex }),
      ...(options.sys ? { sys: options.sys } : {}),
    },
  );
  owned.push(map);
  return map;
}
