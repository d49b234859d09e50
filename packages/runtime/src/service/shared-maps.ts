import type { DataMapSpec, DataMapStore } from '@syrup/maps';
import { RuntimeError } from '../errors/runtime-error.js';

/** One shared map of one tenant: its shape, the runtime's own handle on it, and the deployments using it. */
interface SharedMap {
  readonly spec: DataMapSpec;
  /** The registry's handle (`DataMapStore.share()` of the creator's store): it outlives every deployment's own. */
  readonly store: DataMapStore;
  readonly users: Set<string>;
  /** The kernel map's id, when recovery knows it from the state file. */
  readonly identity?: number;
}

/**
 * What a deploy that shares maps gets: maps to borrow (already shared) and names it will
 * create. Until it is disposed it holds the borrowed maps like a user does, so an undeploy of
 * their last other user while this deploy attaches cannot close them under it.
 */
export interface SharedMapPlan extends Disposable {
  readonly borrowed: ReadonlyMap<string, DataMapStore>;
  readonly created: readonly string[];
}

/**
 * Data maps shared by name among the deployments of one tenant (owner uid), at any hook: the
 * paper's cross-layer communication. A deployment opts in per name (`shareMaps`); the first
 * one that shares `m` creates it (through its backend, as any map), later ones of the same
 * owner that share `m` and declare it with the same shape get the same map object at attach,
 * and another tenant's `m` is another map. The registry keeps its own handle on each map
 * (`DataMapStore.share()`), so the map stays reachable while any deployment uses it, even
 * after the one that created it is gone; the handle is closed with the last user (the kernel
 * frees the map once no program or pin holds it either).
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
    return { borrowed, created, [Symbol.dispose]: () => this.release(uid, hold, [...borrowed.keys()]) };
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
   * its attachment): a name not shared yet takes a handle of its own on the deployment's map.
   * `identities` (recovery: the kernel map ids the state file recorded) tell whether a
   * restored deployment's map is the one already shared; one that is not is left out and its
   * name returned, so recovery can report it.
   */
  register(uid: number, id: string, names: readonly string[], maps: ReadonlyMap<string, DataMapStore>, identities?: ReadonlyMap<string, number>): string[] {
    const diverged: string[] = [];
    for (const name of new Set(names)) {
      const key = keyOf(uid, name);
      const own = maps.get(name);
      const identity = identities?.get(name);
      const shared = this.#maps.get(key);
      if (shared !== undefined) {
        const same = own === undefined || own === shared.store || identity === undefined || shared.identity === undefined || identity === shared.identity;
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
      this.#maps.set(key, { spec: own.spec, store: own.share(), users: new Set([id]), ...(identity === undefined ? {} : { identity }) });
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
