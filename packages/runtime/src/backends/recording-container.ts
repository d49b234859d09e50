import type { DependencyContainer, InjectionToken } from 'tsyringe';

/** The container methods that add a registration. */
const REGISTERING = new Set<PropertyKey>(['register', 'registerSingleton', 'registerType', 'registerInstance']);

type Registration = { readonly method: string; readonly args: readonly unknown[] };

/**
 * A view of a container for one backend's `register(container)`: registrations are recorded,
 * not applied, until `commit()` replays them in order. A `register` that throws halfway then
 * leaves nothing behind. Everything else (resolve, isRegistered...) goes to the container, so
 * a module does not see its own pending registrations: a `register` only registers.
 */
export class RecordingContainer {
  readonly view: DependencyContainer;
  readonly #target: DependencyContainer;
  readonly #pending: Registration[] = [];

  constructor(target: DependencyContainer) {
    this.#target = target;
    const pending = this.#pending;
    const view: DependencyContainer = new Proxy(target, {
      get(container, property) {
        if (REGISTERING.has(property)) {
          return (...args: unknown[]) => {
            pending.push({ method: property as string, args });
            return view;
          };
        }
        const value: unknown = Reflect.get(container, property, container);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(container) : value;
      },
    });
    this.view = view;
  }

  /** How many recorded registrations are for `token`. */
  count(token: InjectionToken): number {
    return this.#pending.filter((r) => r.args[0] === token).length;
  }

  /** Applies the recorded registrations to the container, in the order they were made. */
  commit(): void {
    const target = this.#target as unknown as Record<string, (...args: readonly unknown[]) => unknown>;
    for (const { method, args } of this.#pending.splice(0)) (target[method] as (...a: unknown[]) => unknown).apply(this.#target, [...args]);
  }
}
