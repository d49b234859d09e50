import type { Fd } from '../fd.js';
import { openPinned, pinObject, unpin } from '../pin/pin.js';
import { nativeSyscalls } from '../syscalls/native-syscalls.js';
import type { LinkInfo } from '../syscalls/obj-info.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import type { Link } from './link.js';

/**
 * A link of any kind pinned in bpffs (aya's PinnedLink over its FdLink): the pin keeps it
 * attached after every fd is closed and after this process exits. `close()` only drops this
 * process's fd; `unpin()` removes the pin and gives back the plain link, which detaches when
 * closed. What the kind can do beyond a `Link` (an XDP link's `update`) is on `link`.
 */
export class PinnedLink<L extends Link = Link> implements Disposable {
  readonly link: L;
  readonly path: string;
  #unpinned = false;

  constructor(link: L, path: string) {
    this.link = link;
    this.path = path;
  }

  /** Pins `link` at `path` (which must be in bpffs and free): it then outlives this process until unpinned and closed. */
  static pin<L extends Link>(link: L, path: string): PinnedLink<L> {
    pinObject(link.fd, path, { sys: link.sys });
    return new PinnedLink(link, path);
  }

  /**
   * Opens the link pinned at `path` as the kind `fromFd` makes of it (`XdpLink.fromFd`, which
   * closes the fd and throws when the pin holds another kind).
   */
  static open<L extends Link>(path: string, fromFd: (fd: Fd, options: { sys: Syscalls }) => L, options: { sys?: Syscalls } = {}): PinnedLink<L> {
    const sys = options.sys ?? nativeSyscalls();
    return new PinnedLink(fromFd(openPinned(path, { sys }), { sys }), path);
  }

  get closed(): boolean {
    return this.link.closed;
  }

  info(): LinkInfo {
    return this.link.info();
  }

  /** Detaches now; the pin stays (describing a defunct link) until unpinned. */
  detach(): void {
    this.link.detach();
  }

  /**
   * Removes the pin and returns the link, now owned only by its fd(s): closing it detaches.
   * Calling it again returns the same link.
   */
  unpin(): L {
    if (!this.#unpinned) {
      unpin(this.path);
      this.#unpinned = true;
    }
    return this.link;
  }

  /** Closes this process's fd; the link stays attached while the pin exists. */
  close(): void {
    this.link.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  toString(): string {
    return `${String(this.link)} pinned at ${this.path}`;
  }
}
