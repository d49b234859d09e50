// @syrup/backend-ebpf: the eBPF backend plugin for Syrup.
// The root holds the plugin entry (register, ebpfBackendModule, EbpfBackend) and what the
// README's examples import; the building blocks are on subpath entries (./asm, ./maps, ./codegen...).
export { EbpfBackend } from './ebpf-backend.js';
export { EbpfBackendError, type EbpfBackendErrorCode } from './ebpf-backend-error.js';
export { ebpfBackendModule, ebpfNetworkHooks, register } from './ebpf-backend-module.js';
export type { EbpfArtifact, HookCompileOptions, NetworkHook } from './hooks/network-hook.js';

// AF_XDP as the README's XDP example uses it (the whole of it is on ./xsk).
export { XskServer, XskSocketGroup, echoUdpFrame } from './xsk/index.js';
