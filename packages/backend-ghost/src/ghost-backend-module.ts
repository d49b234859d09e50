import { Backend, type BackendModule } from '@syrup/core';
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { GhostBackend, GhostBackendOptions } from './ghost-backend.js';

/**
 * The package's plugin entry: binds the thread backend under core's `Backend` token, with the
 * options a daemon registered under {@link GhostBackendOptions} (its allowed CPU set), if any.
 * Importing the package has no side effects.
 */
export const ghostBackendModule: BackendModule = {
  name: 'ghost',
  register(container: DependencyContainer): void {
    container.register(Backend, {
      useFactory: instanceCachingFactory((c) => new GhostBackend(c.isRegistered(GhostBackendOptions, true) ? c.resolve<GhostBackendOptions>(GhostBackendOptions) : {})),
    });
  },
};

/** Shorthand for `ghostBackendModule.register(container)`. */
export function register(container: DependencyContainer): void {
  ghostBackendModule.register(container);
}
