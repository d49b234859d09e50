import { registerHookRegistry } from '@syrup/core';
import { container } from 'tsyringe';
import { afterEach } from 'vitest';
import { RuntimeLimits, RuntimeService } from '../../src/index.js';
import { memoryBackendModule } from './memory-backend.js';

/**
 * For a test file: a factory of runtime services over the in-memory backend, each in its own
 * container (optionally with limits), all closed after every test.
 */
export function memoryServices(): (limits?: RuntimeLimits) => RuntimeService {
  const services: RuntimeService[] = [];
  afterEach(async () => {
    for (const service of services.splice(0)) await service.close();
  });
  return (limits) => {
    const child = container.createChildContainer();
    registerHookRegistry(child);
    memoryBackendModule.register(child);
    if (limits !== undefined) child.register(RuntimeLimits, { useValue: limits });
    child.registerSingleton(RuntimeService);
    const service = child.resolve(RuntimeService);
    services.push(service);
    return service;
  };
}
