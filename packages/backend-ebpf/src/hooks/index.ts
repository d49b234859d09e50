// @syrup/backend-ebpf/hooks: the network hooks this backend registers.
// Owns socket-select (SO_REUSEPORT groups) and the XDP hooks (xdp-skb, xdp-drv, cpu-redirect) behind
// per-interface dispatchers, with what they share: the NetworkHook contract and data-map planning.
export type { EbpfArtifact, HookCompileOptions, NetworkHook } from './network-hook.js';

export { SocketSelectHook, type SocketSelectHookOptions } from './socket-select/socket-select-hook.js';
export { SocketGroupAttachment, type SocketGroupAttachOptions } from './socket-select/socket-group-attachment.js';
export { SteeredSockets } from './socket-select/steered-sockets.js';
export { SocketSelectError, type SocketSelectErrorCode } from './socket-select/socket-select-error.js';
export type { SocketGroupInfo } from './socket-select/socket-group.js';
export type { ExplicitSocket } from './socket-select/local-socket-group.js';
export type { NodeSocket } from './socket-select/node-socket-fd.js';
export type { SocketProtocol } from './socket-select/socket-table.js';

export { XDP_HOOK_IDS, XdpHook, createXdpHooks, type XdpHookOptions } from './xdp/xdp-hook.js';
export { XdpAttachment } from './xdp/xdp-attachment.js';
export { XdpDispatcher } from './xdp/xdp-dispatcher.js';
export { XdpDispatchers } from './xdp/xdp-dispatchers.js';
export { DispatcherLease } from './xdp/dispatcher-lease.js';
export { DISPATCHER_SLOTS, type DispatcherLocation, type DispatcherMode, type DispatcherPins } from './xdp/dispatcher-location.js';
export { XdpHookError, type XdpHookErrorCode } from './xdp/xdp-hook-error.js';
export { DEFAULT_CPU_QUEUE_SIZE, parseXdpTarget, type XdpHookId, type XdpTarget, type XskExecutors } from './xdp/xdp-target.js';
export { DISPATCHER_MAP_NAMES, ROUTE_VALUE_SIZE, dispatcherInstructions } from './xdp/dispatcher-program.js';
