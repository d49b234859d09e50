import { Backend, type BackendModule } from '@syrup/core';
import { DataMapProvider } from '@syrup/maps';
import { instanceCachingFactory, type DependencyContainer } from 'tsyringe';
import { KernelDataMapProvider } from './maps/kernel-data-map-provider.js';
import { EbpfBackend } from './ebpf-backend.js';
import { SocketSelectHook } from './hooks/socket-select/socket-select-hook.js';
import { createXdpHooks } from './hooks/xdp/xdp-hook.js';
import type { NetworkHook } from './hooks/network-hook.js';

/**
 * Every network hook this package provides, in registry order, made anew for one backend: the
 * state they keep (each interface's XDP dispatcher, the socket groups socket-select steers) is
 * that backend's, shared by its hooks and by no other backend.
 */
export function ebpfNetworkHooks(): NetworkHook[] {
  return [new SocketSelectHook(), ...createXdpHooks()];
}

/**
 * The package's plugin entry: `ebpfBackendModule.register(container)` binds the eBPF backend
 * under core's `Backend` token and its kernel maps under maps' `DataMapProvider` token. Importing the package has no side effects; nothing touches the
 * kernel until the registry probes.
 */
export const ebpfBackendModule: BackendModule = {
  name: 'ebpf',
  register(container: DependencyContainer): void {
    container.register(Backend, { useFactory: instanceCachingFactory(() => new EbpfBackend(ebpfNetworkHooks())) });
    // Kernel maps for data maps several hooks share: the runtime picks them whenever they are registered.
    container.register(DataMapProvider, { useFactory: instanceCachingFactory(() => new KernelDataMapProvider()) });
  },
};

/** Shorthand for `ebpfBackendModule.register(container)`. */
export function register(container: DependencyContainer): void {
  ebpfBackendModule.register(container);
}
