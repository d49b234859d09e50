import { DataMapProvider, InMemoryDataMapProvider } from '@syrup/maps';
import { injectable, injectAll, Lifecycle, type DependencyContainer } from 'tsyringe';
import { Backend, type HookProbe } from '../backend/backend.js';
import { HookUnavailableError, NoBackendError } from '../errors/syrup-error.js';
import { BackendRefusedError } from './backend-refused-error.js';
import type { HookId, HookSpec } from './hook-spec.js';

/** One hook as the registry knows it: who provides it and whether it can run here. */
export interface HookAvailability {
  readonly hook: HookSpec;
  readonly backend: string;
  readonly available: boolean;
  readonly reason?: string;
}

/** One backend registered in the container, in registration order, and whether the registry took it. */
export interface BackendRegistration {
  readonly backend: Backend;
  /** Why the registry refused it; undefined when accepted. A refused backend is never probed or used. */
  readonly refused?: BackendRefusedError;
}

/** Collects the registered backends and answers which one serves a hook. */
export interface HookRegistry {
  /** Probes every accepted backend once (later calls reuse the result) and lists every hook. */
  hooks(): Promise<readonly HookAvailability[]>;
  /** Every registered backend in registration order, with the refusal of those the registry did not take. */
  backends(): readonly BackendRegistration[];
  /** The backend that serves `hook`; throws NoBackendError or HookUnavailableError. */
  backendFor(hook: HookId): Promise<{ backend: Backend; spec: HookSpec }>;
}

export const HookRegistry: unique symbol = Symbol.for('@syrup/core.HookRegistry');

/**
 * The default registry. Backends arrive through the container (optional, so core alone
 * works); each is probed in isolation, so one whose probe throws is reported unavailable
 * with its reason and the others keep working.
 *
 * Invariant: every hook id and every backend name belongs to one accepted backend. A backend
 * that declares a hook id or uses a name an earlier one already has is refused as a whole
 * (`BackendRefusedError`, listed by `backends()`); the earlier one keeps the hook.
 */
@injectable()
export class HookRegistryImpl implements HookRegistry {
  readonly #registrations: readonly BackendRegistration[];
  readonly #backends: readonly Backend[];
  #probed: Promise<readonly HookAvailability[]> | undefined;

  constructor(@injectAll(Backend, { isOptional: true }) backends: Backend[] | undefined) {
    this.#registrations = admit(backends ?? []);
    this.#backends = this.#registrations.filter((r) => r.refused === undefined).map((r) => r.backend);
  }

  backends(): readonly BackendRegistration[] {
    return this.#registrations;
  }

  hooks(): Promise<readonly HookAvailability[]> {
    this.#probed ??= this.#probeAll();
    return this.#probed;
  }

  async backendFor(hook: HookId): Promise<{ backend: Backend; spec: HookSpec }> {
    const all = await this.hooks();
    const candidates = all.filter((h) => h.hook.id === hook);
    if (candidates.length === 0) throw new NoBackendError(hook, [...new Set(all.map((h) => h.hook.id))]);
    const chosen = candidates.find((h) => h.available);
    if (chosen === undefined) {
      const first = candidates[0] as HookAvailability;
      throw new HookUnavailableError(hook, first.backend, first.reason ?? 'its probe said no');
    }
    const backend = this.#backends.find((b) => b.name === chosen.backend) as Backend;
    return { backend, spec: chosen.hook };
  }

  async #probeAll(): Promise<readonly HookAvailability[]> {
    const settled = await Promise.allSettled(this.#backends.map((b) => b.probe()));
    return this.#backends.flatMap((backend, i) => {
      const outcome = settled[i] as PromiseSettledResult<readonly HookProbe[]>;
      return backend.hooks.map((hook): HookAvailability => {
        if (outcome.status === 'rejected') {
          return { hook, backend: backend.name, available: false, reason: `its probe failed: ${describe(outcome.reason)}` };
        }
        const probe = outcome.value.find((p) => p.hook === hook.id);
        if (probe === undefined) {
          return { hook, backend: backend.name, available: false, reason: 'its probe did not report this hook' };
        }
        return probe.available
          ? { hook, backend: backend.name, available: true }
          : { hook, backend: backend.name, available: false, reason: probe.reason ?? 'its probe said no' };
      });
    });
  }
}

/** Accepts backends in registration order; a later one that clashes with an accepted one is refused. */
function admit(backends: readonly Backend[]): readonly BackendRegistration[] {
  const names = new Set<string>();
  const owners = new Map<HookId, string>();
  return backends.map((backend): BackendRegistration => {
    if (names.has(backend.name)) return { backend, refused: new BackendRefusedError(backend.name, backend.name) };
    const taken = backend.hooks.find((hook) => owners.has(hook.id));
    if (taken !== undefined) return { backend, refused: new BackendRefusedError(backend.name, owners.get(taken.id) as string, taken.id) };
    names.add(backend.name);
    for (const hook of backend.hooks) owners.set(hook.id, backend.name);
    return { backend };
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Binds the default registry under its token, one instance per container. */
export function registerHookRegistry(container: DependencyContainer): void {
  container.register(HookRegistry, { useClass: HookRegistryImpl }, { lifecycle: Lifecycle.ContainerScoped });
  // Memory is always a place for data maps; backends add theirs (the eBPF backend: kernel maps).
  container.register(DataMapProvider, { useValue: new InMemoryDataMapProvider() });
}
