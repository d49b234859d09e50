// tsyringe needs the Reflect polyfill before it loads; tests import it first, as an application would.
import 'reflect-metadata';
import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import {
  Backend,
  BackendRefusedError,
  HookRegistry,
  NoBackendError,
  STANDARD_HOOKS,
  SyrupError,
  hookTargetFields,
  registerHookRegistry,
  type HookRegistry as HookRegistryType,
} from '../src/index.js';

describe('HookRegistryImpl with core alone', () => {
  it('works with no backend registered and refuses every hook with "no backend provides hook"', async () => {
    const container = rootContainer.createChildContainer();
    registerHookRegistry(container);
    const registry = container.resolve<HookRegistryType>(HookRegistry);
    expect(await registry.hooks()).toEqual([]);
    await expect(registry.backendFor('thread')).rejects.toThrow(new NoBackendError('thread'));
    await expect(registry.backendFor('thread')).rejects.toThrow("no backend provides hook 'thread' (no backend is loaded)");
  });

  it('names every hook of the design table', () => {
    expect(Object.keys(STANDARD_HOOKS).sort()).toEqual(['cpu-redirect', 'socket-select', 'thread', 'xdp-drv', 'xdp-offload', 'xdp-skb']);
    expect(STANDARD_HOOKS['socket-select'].inputs).toEqual(['udp', 'tcp']);
    expect(STANDARD_HOOKS['thread'].executor).toBe('core');
  });
});

/** A backend that only declares hooks and counts its probes: enough for the registry's bookkeeping. */
function fakeBackend(name: string, hooks: readonly string[]): Backend & { probes: number } {
  return {
    name,
    hooks: hooks.map((id) => ({ id, layer: `${name}'s layer`, inputs: ['udp'], executor: 'socket', verdicts: ['pass', 'drop'] })),
    probes: 0,
    async probe() {
      this.probes += 1;
      return hooks.map((hook) => ({ hook, available: true }));
    },
    compile: () => Promise.reject(new Error('not used')),
    attach: () => Promise.reject(new Error('not used')),
  };
}

function registryOf(...backends: Backend[]): HookRegistryType {
  const container = rootContainer.createChildContainer();
  for (const backend of backends) container.register(Backend, { useValue: backend });
  registerHookRegistry(container);
  return container.resolve<HookRegistryType>(HookRegistry);
}

describe('HookRegistryImpl with clashing backends', () => {
  it('refuses a second backend declaring a hook id already taken, naming both, and the first keeps the hook', async () => {
    const first = fakeBackend('first', ['socket-select']);
    const second = fakeBackend('second', ['other-hook', 'socket-select']);
    const registry = registryOf(first, second);

    const [kept, refused] = registry.backends();
    expect(kept).toEqual({ backend: first });
    expect(refused?.backend).toBe(second);
    expect(refused?.refused).toBeInstanceOf(BackendRefusedError);
    expect(refused?.refused).toBeInstanceOf(SyrupError);
    expect(refused?.refused?.code).toBe('HOOK_TAKEN');
    expect(refused?.refused?.message).toBe("backend 'second' is refused: it declares hook 'socket-select', which backend 'first' already provides.");

    // The whole second backend is out: its other hook is not listed, it is never probed, and the first serves the hook.
    expect((await registry.hooks()).map((h) => [h.hook.id, h.backend])).toEqual([['socket-select', 'first']]);
    expect(second.probes).toBe(0);
    expect((await registry.backendFor('socket-select')).backend).toBe(first);
    await expect(registry.backendFor('other-hook')).rejects.toThrow("no backend provides hook 'other-hook' (the hooks there are: socket-select)");
  });

  it('refuses the clash whatever the registration order: the earlier backend wins', async () => {
    const a = fakeBackend('a', ['thread']);
    const b = fakeBackend('b', ['thread']);
    const registry = registryOf(b, a);
    expect(registry.backends().map((r) => [r.backend.name, r.refused?.message])).toEqual([
      ['b', undefined],
      ['a', "backend 'a' is refused: it declares hook 'thread', which backend 'b' already provides."],
    ]);
    expect((await registry.backendFor('thread')).backend).toBe(b);
  });

  it('refuses a second backend with a name already registered', async () => {
    const registry = registryOf(fakeBackend('same', ['h1']), fakeBackend('same', ['h2']));
    const refused = registry.backends()[1]?.refused;
    expect(refused?.code).toBe('BACKEND_NAME_TAKEN');
    expect(refused?.message).toBe("backend 'same' is refused: a backend named 'same' is already registered.");
    expect((await registry.hooks()).map((h) => h.hook.id)).toEqual(['h1']);
  });

  it('accepts backends whose hooks and names differ', () => {
    const registry = registryOf(fakeBackend('x', ['h1']), fakeBackend('y', ['h2']));
    expect(registry.backends().map((r) => r.refused)).toEqual([undefined, undefined]);
  });
});

describe('hookTargetFields', () => {
  it("lists the fields of the hook's target schema in declaration order", () => {
    expect(hookTargetFields(STANDARD_HOOKS['socket-select'])).toEqual(['port', 'protocol', 'pid', 'address']);
    expect(hookTargetFields(STANDARD_HOOKS['xdp-skb'])).toContain('xskPid');
    expect(hookTargetFields(STANDARD_HOOKS['cpu-redirect'])).toContain('cpus');
  });

  it('lists none for a hook that declares no schema (its backend validates whatever it is given)', () => {
    const { target: _target, ...schemaless } = STANDARD_HOOKS.thread;
    expect(hookTargetFields({ ...schemaless, id: 'test-queue' })).toEqual([]);
  });
});
