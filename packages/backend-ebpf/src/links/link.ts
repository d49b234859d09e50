import type { Fd } from '../fd.js';
import type { LinkInfo } from '../syscalls/obj-info.js';
import type { Syscalls } from '../syscalls/syscalls.js';

/**
 * What every bpf link of this package is (cilium's `link.Link`, aya's `Link`): an owned link
 * fd the kernel can describe and detach. Closing drops this process's fd; the program stays
 * attached while anything else holds the link (a pin, another fd), and only `detach()` ends the
 * attachment for all of them. Kind-specific operations (an XDP link's `update`) stay on the
 * kind's class; pinning is the same for every kind (`PinnedLink`).
 */
export interface Link extends Disposable {
  readonly sys: Syscalls;
  /** The owned fd; `LINK_CLOSED` once closed. */
  readonly fd: Fd;
  readonly closed: boolean;
  /** The kernel's view: link id, kind, the attached program's id. */
  info(): LinkInfo;
  /** Ends the attachment now, whoever else holds the link; the fd stays open, describing a defunct link. Harmless twice. */
  detach(): void;
  /** Closes this process's fd. Harmless twice. */
  close(): void;
}
