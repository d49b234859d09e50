import 'reflect-metadata';
import { Backend, STANDARD_HOOKS, type BackendModule } from '@syrup/core';
import { describe, expect, it } from 'vitest';
import { embedded } from '../src/index.js';
import { memoryBackendModule } from './support/memory-backend.js';

/** A second backend that also declares socket-select. */
const rival: BackendModule = {
  name: 'rival',
  register(container) {
    container.register(Backend, {
      useValue: {
        name: 'rival',
        hooks: [STANDARD_HOOKS['socket-select']],
        probe: async () => [{ hook: 'socket-select', available: true }],
        compile: () => Promise.reject(new Error('not used')),
        attach: () => Promise.reject(new Error('not used')),
      },
    });
  },
};

describe('embedded() with backends that clash', () => {
  it('refuses at once, with the registry sentence naming both backends and the hook', async () => {
    await expect(embedded({ backends: [memoryBackendModule, rival] })).rejects.toMatchObject({
      code: 'HOOK_TAKEN',
      message: "backend 'rival' is refused: it declares hook 'socket-select', which backend 'memory' already provides.",
    });
  });

  it('takes backends that do not clash', async () => {
    const syrup = await embedded({ backends: [memoryBackendModule] });
    try {
      expect((await syrup.hooks()).map((h) => [h.hook, h.backend])).toEqual([['socket-select', 'memory']]);
    } finally {
      await syrup.close();
    }
  });
});
