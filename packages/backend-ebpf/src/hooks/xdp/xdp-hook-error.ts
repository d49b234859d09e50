import { SyrupError } from '@syrup/core';

export type XdpHookErrorCode =
  | 'XDP_TARGET_INVALID'
  | 'XDP_INTERFACE_NOT_FOUND'
  | 'XDP_PORT_TAKEN'
  | 'XDP_MODE_CONFLICT'
  | 'XDP_QUEUE_BUSY'
  | 'XDP_ATTACH_FAILED'
  | 'XDP_ARTIFACT_MISMATCH'
  | 'XDP_SHARED_MAP_UNSUPPORTED'
  | 'XDP_DISPATCHER_FULL'
  | 'XDP_CLOSED';

/** A refusal or failure of the XDP hooks (xdp-skb, xdp-drv, cpu-redirect); `cause` keeps the kernel's errno. */
export class XdpHookError extends SyrupError<XdpHookErrorCode> {
  override name = 'XdpHookError';
}
