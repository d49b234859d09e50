import type { DataMapProvider, DataMapSpec, DataMapStore } from '@syrup/maps';
import { RuntimeError } from '../errors/runtime-error.js';

/** One shared map of one tenant: its shape, the runtime's own handle on it, and the deployments using it. */
interface SharedMap {
  readonly spec: DataMapSpec;
  /** The registry's handle (made by a provider, or after a restart `share()` of the first restored user's store): it outlives every deployment's own. */
  readonly store: DataMapStore;
  readonly users: Set<string>;
}

/**
 * What a deploy that shares maps gets: maps to borrow (already shared) and names it will
 * create. Until it is disposed it holds the borrowed maps like a user does, so an undeploy of
 * their last other user while this deploy attaches cannot close them under it.
 */
export interface SharedMapPlan extends Disposable {
  readonly borrowed: ReadonlyMap<string, DataMapStore>;
  /** Names no deployment of the tenant shares yet: `create` makes them. */
  readonly created: readonly string[];
  /**
   * Makes the maps of `created` with `provider` (the registry holds them from now on, for
   * this plan until it is disposed and then for the deployments registered as their users)
   * and returns every map of the plan, borrowed and created, to attach with.
   */
  create(provider: DataMapProvider): ReadonlyMap<string, DataMapStore>;
}

/**
 * Data maps shared by name among the deployments of one tenant (owner uid), at any hook: the
 * paper's cross-layer communication. A deployment opts in per name (`shareMaps`); when the
 * first one that shares `m` deploys, the registry has `m` made by the provider the service
 * chose (a kernel map whenever a kernel provider is registered, see `chooseSharedMapProvider`),
 * and every deployment of the same owner that shares `m` and declares it with the same shape
 * gets that map object at attach, the first included; another tenant's `m` is another map.
 * The registry keeps its own handle on each map, so the map stays reachable while any
 * deployment uses it, even after the first is gone; the handle is closed with the last user
 * (the kernel frees a kernel map once no program or pin holds it either).
 */
export class SharedMapRegistry {
  readonly #maps = new Map<string, SharedMap>();
  readonly #queues = new Map<number, Promise<unknown>>();
  #plans = 0;

  /**
   * Runs `task` after every earlier task of `uid` ended: a deploy looks up, creates and
   * registers its shared maps in one step, so two concurrent deploys cannot both create `m`.
   */
  exclusive<T>(uid: number, task: () => Promise<T>): Promise<T> {
    const before = this.#queues.get(uid) ?? Promise.resolve();
    const run = before.then(task);
    const tail = run.catch(() => undefined);
    this.#queues.set(uid, tail);
    void tail.then(() => {
      if (this.#queues.get(uid) === tail) this.#queues.delete(uid);
    });
    return run;
  }

  /**
   * Which of `names` policy `policy` of `uid` borrows and which it creates. Refuses a name the
   * policy does not declare, and one whose shape differs from the shared map's, naming both shapes.
   */
  plan(uid: number, policy: { readonly name: string; readonly maps: Readonly<Record<string, DataMapSpec>> }, names: readonly string[]): SharedMapPlan {
    const borrowed = new Map<string, DataMapStore>();
    const created: string[] = [];
    for (const name of new Set(names)) {
      const declared = Object.hasOwn(policy.maps, name) ? policy.maps[name] : undefined;
      if (declared === undefined) {
        const known = Object.keys(policy.maps);
        throw new RuntimeError(
          'MAP_NOT_FOUND',
          `policy '${policy.name}' declares no map '${name}' to share${known.length > 0 ? ` (it declares ${known.join(', ')})` : ''}.`,
        );
      }
      const shared = this.#maps.get(keyOf(uid, name));
      if (shared === undefined) {
        created.push(name);
        continue;
      }
      checkShape(uid, policy.name, name, shared.spec, declared);
      borrowed.set(name, shared.store);
    }
    const hold = `plan:${++this.#plans}`;
    for (const name of borrowed.keys()) this.#maps.get(keyOf(uid, name))?.users.add(hold);
    const held = [...borrowed.keys()];
    const create = (provider: DataMapProvider): ReadonlyMap<string, DataMapStore> => {
      const all = new Map(borrowed);
      for (const name of created) {
        const key = keyOf(uid, name);
        if (!this.#maps.has(key)) {
          const spec = policy.maps[name] as DataMapSpec;
          this.#maps.set(key, { spec, store: provider.createMap(spec, { name }), users: new Set([hold]) });
          held.push(name);
        }
        all.set(name, (this.#maps.get(key) as SharedMap).store);
      }
      return all;
    };
    return { borrowed, created, create, [Symbol.dispose]: () => this.release(uid, hold, held) };
  }

  /**
   * Refuses a replace of deployment `id` whose policy does not declare one of the maps the
   * deployment shares with the same shape: the attachment keeps a map across a swap only when
   * the new program declares it alike, so anything else would quietly split the deployment
   * off the shared map.
   */
  checkReplace(uid: number, id: string, policy: { readonly name: string; readonly maps: Readonly<Record<string, DataMapSpec>> }, names: readonly string[]): void {
    for (const name of names) {
      const shared = this.#maps.get(keyOf(uid, name));
      if (shared === undefined) continue;
      const declared = Object.hasOwn(policy.maps, name) ? policy.maps[name] : undefined;
      if (declared === undefined) {
        throw new RuntimeError(
          'SHARED_MAP_MISMATCH',
          `deployment '${id}' shares map '${name}', so policy '${policy.name}' can replace it only if it declares '${name}' too, as ${describeShape(shared.spec)}.`,
        );
      }
      checkShape(uid, policy.name, name, shared.spec, declared);
    }
  }

  /**
   * Records deployment `id` of `uid` as a user of `names`, with the deployment's maps (from
   * its attachment): a name not shared yet (recovery: the first restored user) takes a handle
   * of its own on the deployment's map. A deployment whose map is not the one already shared
   * (neither the same object nor the same `DataMapStore.identity`: after a restart, two pins
   * of different kernel maps) is left out of that name, which is returned, so the caller can
   * refuse or report it.
   */
  register(uid: number, id: string, names: readonly string[], maps: ReadonlyMap<string, DataMapStore>): string[] {
    const diverged: string[] = [];
    for (const name of new Set(names)) {
      const key = keyOf(uid, name);
      const own = maps.get(name);
      const shared = this.#maps.get(key);
      if (shared !== undefined) {
        const same = own === undefined || own === shared.store || (own.identity !== undefined && own.identity === shared.store.identity);
        if (!same) {
          diverged.push(name);
          continue;
        }
        shared.users.add(id);
        continue;
      }
      if (own === undefined) continue;
      if (own.share === undefined) {
        throw new RuntimeError('SHARED_MAP_UNSUPPORTED', `map '${name}' cannot be shared: its store (${own.label}) gives no second handle on the same map.`);
      }
      this.#maps.set(key, { spec: own.spec, store: own.share(), users: new Set([id]) });
    }
    return diverged;
  }

  /** Deployment `id` of `uid` ended: it stops using its shared maps; a map without users is let go. */
  release(uid: number, id: string, names: readonly string[]): void {
    for (const name of names) {
      const key = keyOf(uid, name);
      const shared = this.#maps.get(key);
      if (shared === undefined || !shared.users.delete(id)) continue;
      if (shared.users.size === 0) {
        this.#maps.delete(key);
        shared.store.close();
      }
    }
  }

  /** The shapes of the maps `uid` shares now, by name (each counted once for its map memory). */
  specsOf(uid: number): Record<string, DataMapSpec> {
    const specs: Record<string, DataMapSpec> = {};
    const prefix = `${uid}:`;
    for (const [key, shared] of this.#maps) if (key.startsWith(prefix)) specs[key.slice(prefix.length)] = shared.spec;
    return specs;
  }

  /** `uid`'s shared maps that the registry holds now, by name, among `names`. */
  mapsOf(uid: number, names: readonly string[]): Map<string, DataMapStore> {
    const maps = new Map<string, DataMapStore>();
    for (const name of names) {
      const shared = this.#maps.get(keyOf(uid, name));
      if (shared !== undefined) maps.set(name, shared.store);
    }
    return maps;
  }

  /** The users of `uid`'s shared map `name` (deployment ids), for tests and listings. */
  usersOf(uid: number, name: string): readonly string[] {
    return [...(this.#maps.get(keyOf(uid, name))?.users ?? [])];
  }

  /** Lets go of every handle (the service stops); maps still used by programs or pins live on in the kernel. */
  close(): void {
    for (const shared of this.#maps.values()) shared.store.close();
    this.#maps.clear();
  }
}

function keyOf(uid: number, name: string): string {
  return `${uid}:${name}`;
}

/** `an array of 4 u32 -> u64 entries`. */
export function describeShape(spec: DataMapSpec): string {
  const article = spec.kind === 'array' || spec.kind === 'lru-hash' ? 'an' : 'a';
  return `${article} ${spec.kind} of ${spec.maxEntries} ${spec.key} -> ${spec.value} entries`;
}

function sameShape(a: DataMapSpec, b: DataMapSpec): boolean {
  return a.kind === b.kind && a.key === b.key && a.value === b.value && a.maxEntries === b.maxEntries;
}

function checkShape(uid: number, policy: string, name: string, shared: DataMapSpec, declared: DataMapSpec): void {
  if (sameShape(shared, declared)) return;
  throw new RuntimeError(
    'SHARED_MAP_MISMATCH',
    `map '${name}' is shared among uid ${uid}'s deployments as ${describeShape(shared)}, but policy '${policy}' declares it as ${describeShape(declared)}, so it cannot use the shared map.`,
  );
}

/**
 * The provider a tenant's shared maps come from, whatever hooks share them and in whatever
 * order they deploy: a kernel map provider whenever one is registered (a map a userspace
 * backend shares now may be joined later by a kernel program, which reads only kernel maps,
 * and userspace backends use kernel maps as well as any other store), otherwise the first
 * registered provider (memory). Undefined when none is registered.
 */
export function chooseSharedMapProvider(providers: readonly DataMapProvider[]): DataMapProvider | undefined {
  return providers.find((p) => p.residence === 'kernel') ?? providers[0];
}
