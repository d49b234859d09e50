import { Backend, type BackendModule } from '@syrup/core';
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { NfpBackend } from './nfp-backend.js';

/**
 * The package's plugin entry: binds the NFP backend under core's `Backend` token. Importing
 * the package has no side effects; nothing reads sysfs or touches the kernel until the
 * registry probes.
 */
export const nfpBackendModule: BackendModule = {
  name: 'nfp',
  register(container: DependencyContainer): void {
    container.register(Backend, { useFactory: instanceCachingFactory(() => new NfpBackend()) });
  },
};

/** Shorthand for `nfpBackendModule.register(container)`: what `syrupd --backend @syrup/backend-nfp` calls. */
export function register(container: DependencyContainer): void {
  nfpBackendModule.register(container);
}
