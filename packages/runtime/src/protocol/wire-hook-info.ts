import { hookTargetFields, type HookAvailability } from '@syrup/core';
import type { WireHookInfo } from './protocol-schema.js';

/** One hook as the `hooks` op answers it. */
export function wireHookInfo(h: HookAvailability): WireHookInfo {
  return {
    hook: h.hook.id,
    layer: h.hook.layer,
    backend: h.backend,
    available: h.available,
    ...(h.reason !== undefined ? { reason: h.reason } : {}),
    targetFields: [...hookTargetFields(h.hook)],
  };
}
