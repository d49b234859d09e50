import { DataMapProvider, InMemoryDataMapProvider } from '@syrup/maps';
import { injectable, injectAll, Lifecycle, type DependencyContainer } from 'tsyringe';
import { Backend, type HookProbe } from '../backend/backend.js';
import { HookUnavailableError, NoBackendError } from '../errors/syrup-error.js';
import type { HookId, HookSpec } from './hook-spec.js';

/** One hook as the registry knows it: who provides it and whether it can run here. */
export interface HookAvailability {
  readonly hook: HookSpec;
  readonly backend: string;
  readonly available: boolean;
  readonly reason?: string;
}

/** Collects the registered backends and answers which one serves a hook. */
export interface HookRegistry {
  /** Probes every backend once (later calls reuse the result) and lists every hook. */
  hooks(): Promise<readonly HookAvailability[]>;
  /** The backend that serves `hook`; throws NoBackendError or HookUnavailableError. */
  backendFor(hook: HookId): Promise<{ backend: Backend; spec: HookSpec }>;
}

export const HookRegistry: unique symbol = Symbol.for('@syrup/core.HookRegistry');

/**
 * The default registry. Backends arrive through the container (optional, so core alone
 * works); each is probed in isolation, so one whose probe throws is reported unavailable
 * with its reason and the others keep working.
 */
@injectable()
export class HookRegistryImpl implements HookRegistry {
  readonly #backends: readonly Backend[];
  #probed: Promise<readonly HookAvailability[]> | undefined;

  constructor(@injectAll(Backend, { isOptional: true }) backends: Backend[] | undefined) {
    this.#backends = backends ?? [];
  }

  hooks(): Promise<readonly HookAvailability[]> {
    this.#probed ??= this.#probeAll();
    return this.#probed;
  }

  async backendFor(hook: HookId): Promise<{ backend: Backend; spec: HookSpec }> {
    const candidates = (await this.hooks()).filter((h) => h.hook.id === hook);
    if (candidates.length === 0) throw new NoBackendError(hook);
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

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Binds the default registry under its token, one instance per container. */
export function registerHookRegistry(container: DependencyContainer): void {
  container.register(HookRegistry, { useClass: HookRegistryImpl }, { lifecycle: Lifecycle.ContainerScoped });
  // Memory is always a place for data maps; backends add theirs (the eBPF backend: kernel maps).
  container.register(DataMapProvider, { useValue: new InMemoryDataMapProvider() });
}
