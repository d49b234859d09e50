// tsyringe needs the Reflect polyfill before it loads; tests import it first, as an application would.
import 'reflect-metadata';
import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { HookRegistry, NoBackendError, STANDARD_HOOKS, registerHookRegistry, type HookRegistry as HookRegistryType } from '../src/index.js';

describe('HookRegistryImpl with core alone', () => {
  it('works with no backend registered and refuses every hook with "no backend provides hook"', async () => {
    const container = rootContainer.createChildContainer();
    registerHookRegistry(container);
    const registry = container.resolve<HookRegistryType>(HookRegistry);
    expect(await registry.hooks()).toEqual([]);
    await expect(registry.backendFor('thread')).rejects.toThrow(new NoBackendError('thread'));
    await expect(registry.backendFor('thread')).rejects.toThrow("no backend provides hook 'thread'");
  });

  it('names every hook of the design table', () => {
    expect(Object.keys(STANDARD_HOOKS).sort()).toEqual(['cpu-redirect', 'socket-select', 'thread', 'xdp-drv', 'xdp-offload', 'xdp-skb']);
    expect(STANDARD_HOOKS['socket-select'].inputs).toEqual(['udp', 'tcp']);
    expect(STANDARD_HOOKS['thread'].executor).toBe('core');
  });
});
