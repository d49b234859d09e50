import type { CodegenTarget } from '../codegen-target.js';
import { SOCKET_SELECT_TARGET } from './socket-select-target.js';
import { CPU_REDIRECT_TARGET, XDP_DRV_TARGET, XDP_SKB_TARGET } from './xdp-targets.js';

/** The hooks of this backend that the generator has targets for, by hook id. */
export const CODEGEN_HOOKS = ['socket-select', 'xdp-skb', 'xdp-drv', 'cpu-redirect'] as const;
export type CodegenHook = (typeof CODEGEN_HOOKS)[number];

/**
 * The target of each of this backend's hooks. Only a shorthand: `generateProgram` takes any
 * {@link CodegenTarget}, and other packages pass their own.
 */
export const CODEGEN_TARGETS: Readonly<Record<CodegenHook, CodegenTarget>> = Object.freeze({
  'socket-select': SOCKET_SELECT_TARGET,
  'xdp-skb': XDP_SKB_TARGET,
  'xdp-drv': XDP_DRV_TARGET,
  'cpu-redirect': CPU_REDIRECT_TARGET,
});
