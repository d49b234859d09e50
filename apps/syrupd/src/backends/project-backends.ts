import type { StandardHookId } from '@syrup/core';

/**
 * The project's own backend packages, loaded by default (those installed and exporting
 * `register`), and which of them provides each standard hook, so `syrup hooks` can say where a
 * missing hook would come from. Core never names a backend; the daemon, which composes them, does.
 */
export const PROJECT_BACKENDS: readonly string[] = ['@syrup/backend-ebpf', '@syrup/backend-ghost', '@syrup/backend-nfp'];

export const PROJECT_BACKEND_OF_HOOK: Readonly<Record<StandardHookId, string>> = {
  'socket-select': '@syrup/backend-ebpf',
  'xdp-skb': '@syrup/backend-ebpf',
  'xdp-drv': '@syrup/backend-ebpf',
  'cpu-redirect': '@syrup/backend-ebpf',
  'xdp-offload': '@syrup/backend-nfp',
  thread: '@syrup/backend-ghost',
};
