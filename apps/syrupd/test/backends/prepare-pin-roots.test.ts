import 'reflect-metadata';
import { Backend, HookRegistry, registerHookRegistry, type HookRegistry as HookRegistryType } from '@syrup/core';
import { container as rootContainer } from 'tsyringe';
import { describe, expect, it } from 'vitest';
import { preparePinRoots } from '../../src/backends/prepare-pin-roots.js';

/** A backend that declares `hook`, says whether it runs here, and records the pin roots it is asked to prepare. */
function pinningBackend(name: string, hook: string, available: boolean, prepared: string[], fail?: string): Backend {
  return {
    name,
    hooks: [{ id: hook, layer: 'test', inputs: ['udp'], executor: 'socket', verdicts: ['pass', 'drop'] }],
    probe: async () => [{ hook, available, ...(available ? {} : { reason: 'no device' }) }],
    compile: () => Promise.reject(new Error('not used')),
    attach: () => Promise.reject(new Error('not used')),
    preparePinRoot(root: string) {
      if (fail !== undefined) throw new Error(fail);
      prepared.push(`${name}:${root}`);
    },
  };
}

function registryOf(...backends: Backend[]): HookRegistryType {
  const container = rootContainer.createChildContainer();
  for (const backend of backends) container.register(Backend, { useValue: backend });
  registerHookRegistry(container);
  return container.resolve<HookRegistryType>(HookRegistry);
}

describe('preparePinRoots', () => {
  it('asks each accepted backend that can run here, and neither a refused one nor one whose probe said no', async () => {
    const prepared: string[] = [];
    const registry = registryOf(
      pinningBackend('runs', 'h1', true, prepared),
      pinningBackend('cannot', 'h2', false, prepared),
      pinningBackend('clashes', 'h1', true, prepared),
      { ...pinningBackend('nopins', 'h3', true, prepared), preparePinRoot: undefined },
    );
    expect(await preparePinRoots(registry, '/sys/fs/bpf/t')).toEqual(['runs']);
    expect(prepared).toEqual(['runs:/sys/fs/bpf/t']);
  });

  it('lets a failure through: without a usable pin root nothing could be pinned or recovered', async () => {
    const registry = registryOf(pinningBackend('broken', 'h1', true, [], 'cannot mount bpffs at /sys/fs/bpf'));
    await expect(preparePinRoots(registry, '/sys/fs/bpf/t')).rejects.toThrow('cannot mount bpffs at /sys/fs/bpf');
  });
});
