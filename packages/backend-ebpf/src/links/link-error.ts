import { LowLevelError } from '@syrup/errors';

export type LinkErrorCode =
  | 'LINK_ATTACH_FAILED'
  | 'LINK_UPDATE_FAILED'
  | 'LINK_DETACH_FAILED'
  | 'LINK_CLOSED'
  | 'LINK_INCOMPATIBLE'
  | 'INTERFACE_NOT_FOUND'
  | 'NETNS_FAILED'
  | 'OFFLOAD_SETTING_FAILED'
  | 'REUSEPORT_ATTACH_FAILED'
  | 'REUSEPORT_DETACH_FAILED';

/** Attaching, updating, detaching or pinning an attachment failed; `cause` keeps the errno. */
export class LinkError extends LowLevelError<LinkErrorCode> {
  override readonly name = 'LinkError';
}
