// An application imports only @syrup/core (which loads the Reflect polyfill) and this package.
import { HookRegistry, registerHookRegistry, type HookRegistry as HookRegistryType } from '@syrup/core';
import { container } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { register } from '../src/index.js';
import { describeKernel } from '@syrup/test-support/kernel-gate';

describeKernel('the eBPF backend plugin', { needs: ['bpf'] }, () => {
  it('registers with register(container), and the registry offers its hooks as available', async () => {
    const child = container.createChildContainer();
    registerHookRegistry(child);
    register(child);
    const registry = child.resolve<HookRegistryType>(HookRegistry);
    const hooks = await registry.hooks();
    expect(hooks.map((h) => [h.hook.id, h.backend, h.available])).toEqual([
      ['socket-select', 'ebpf', true],
      ['xdp-skb', 'ebpf', true],
      ['xdp-drv', 'ebpf', true],
      ['cpu-redirect', 'ebpf', true],
    ]);
    expect((await registry.backendFor('socket-select')).backend.name).toBe('ebpf');
    await expect(registry.backendFor('thread')).rejects.toThrow("no backend provides hook 'thread'");
  });
});

describe('importing the package', () => {
  it('has no side effects on the container until register is called', () => {
    const child = container.createChildContainer();
    registerHookRegistry(child);
    expect(child.isRegistered(Symbol.for('@syrup/core.Backend'), true)).toBe(false);
  });
});
