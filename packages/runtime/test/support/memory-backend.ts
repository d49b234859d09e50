import { SocketSelectHook } from '@syrup/backend-ebpf/hooks';
import {
  Backend,
  STANDARD_HOOKS,
  type Artifact,
  type AttachRequest,
  type Attachment,
  type Authorization,
  type AuthorizeRequest,
  type BackendModule,
  type CompileRequest,
  type HookProbe,
} from '@syrup/core';
import { InMemoryDataMapProvider, type DataMapStore } from '@syrup/maps';

/**
 * A backend for unprivileged tests: provides socket-select with in-memory maps and attaches
 * nothing. Tenants prove ownership by the eBPF socket-select hook's own rules (reading /proc),
 * so the runtime's tests of tenants see the refusals syrupd's tenants see.
 */
export class MemoryBackend implements Backend {
  readonly name = 'memory';
  readonly hooks = [STANDARD_HOOKS['socket-select']];
  readonly #provider = new InMemoryDataMapProvider();
  readonly #socketSelect = new SocketSelectHook();

  async authorize(request: AuthorizeRequest): Promise<Authorization> {
    return this.#socketSelect.authorize(request);
  }

  async probe(): Promise<readonly HookProbe[]> {
    return [{ hook: 'socket-select', available: true }];
  }

  async compile(request: CompileRequest): Promise<Artifact> {
    return { backend: this.name, hook: request.hook.id, policy: request.policy };
  }

  async attach(request: AttachRequest): Promise<Attachment> {
    const maps = new Map<string, DataMapStore>();
    const make = (artifact: Artifact): void => {
      for (const [name, spec] of Object.entries(artifact.policy.maps)) {
        // Maps shared by other deployments are used as given (AttachRequest.sharedMaps).
        const shared = request.sharedMaps?.get(name);
        if (!maps.has(name)) maps.set(name, shared ?? this.#provider.createMap(spec, { name }));
      }
    };
    make(request.artifact);
    return {
      hook: request.artifact.hook,
      maps,
      replace: async (artifact) => make(artifact),
      close: async () => undefined,
      [Symbol.asyncDispose]: async () => undefined,
    };
  }
}

export const memoryBackendModule: BackendModule = {
  name: 'memory',
  register(container) {
    container.register(Backend, { useValue: new MemoryBackend() });
  },
};
