import { LowLevelError } from '@syrup/errors';

export type XskErrorCode =
  | 'XSK_UNSUPPORTED'
  | 'XSK_INVALID_OPTION'
  | 'XSK_UMEM_FAILED'
  | 'XSK_RING_FAILED'
  | 'XSK_BIND_FAILED'
  | 'XSK_QUEUE_BUSY'
  | 'XSK_SHARE_REFUSED'
  | 'XSK_TRANSMIT_FAILED'
  | 'XSK_CLOSED';

/** An AF_XDP socket, its UMEM or one of its rings could not be set up or used; `cause` keeps the errno. */
export class XskError extends LowLevelError<XskErrorCode> {
  override readonly name = 'XskError';
}
