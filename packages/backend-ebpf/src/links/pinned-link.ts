import { unpin } from '../pin/pin.js';
import type { Program } from '../programs/program.js';
import type { LinkInfo } from '../syscalls/obj-info.js';
import type { XdpLink, XdpLinkUpdateOptions } from './xdp-link.js';

/**
 * A link pinned in bpffs (aya's PinnedLink): the pin keeps it attached after every fd is
 * closed and after this process exits. `close()` only drops this process's fd; `unpin()`
 * removes the pin and gives back the plain link, which detaches when closed.
 */
export class PinnedLink implements Disposable {
  readonly link: XdpLink;
  readonly path: string;
  #unpinned = false;

  constructor(link: XdpLink, path: string) {
    this.link = link;
    this.path = path;
  }

  get closed(): boolean {
    return this.link.closed;
  }

  info(): LinkInfo {
    return this.link.info();
  }

  update(program: Program, options: XdpLinkUpdateOptions = {}): void {
    this.link.update(program, options);
  }

  /** Detaches now; the pin stays (describing a defunct link) until unpinned. */
  detach(): void {
    this.link.detach();
  }

  /**
   * Removes the pin and returns the link, now owned only by its fd(s): closing it detaches.
   * Calling it again returns the same link.
   */
  unpin(): XdpLink {
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
    return `${this.link.toString()} pinned at ${this.path}`;
  }
}
