import type { SocketGroup } from './socket-group.js';
import { SocketSelectError } from './socket-select-error.js';

/**
 * The sockets one backend's live socket-select deployments steer, by inode, with each
 * deployment's id (when the caller named it), so a refusal can name it. The kernel keeps one
 * program per group and SO_ATTACH_REUSEPORT_EBPF silently replaces it, so a second
 * deployment on the same group would take the first one's place unnoticed; refusing here
 * turns that into an error (a replace is what was meant). Another process, or another backend
 * in this one, can still attach to the group behind this one's back: the kernel gives no way
 * to see who attached.
 */
export class SteeredSockets {
  readonly #holders = new Map<number, string | undefined>();

  /**
   * Claims the group's sockets for `deployment`, or `SOCKET_SELECT_GROUP_BUSY` naming the
   * deployment that steers one of them. Disposing the result gives them back (an attach that
   * failed); an attach that succeeds keeps the claim until `free`.
   */
  claim(group: SocketGroup, deployment: string | undefined): Disposable {
    const busy = group.info.inodes.find((inode) => this.#holders.has(inode));
    if (busy !== undefined) {
      const holder = this.#holders.get(busy);
      throw new SocketSelectError(
        'SOCKET_SELECT_GROUP_BUSY',
        holder === undefined
          ? `${group.toString()} already runs another deployment of this process (syrupd, or the application embedding the runtime); replace that deployment instead.`
          : `${group.toString()} already runs deployment ${holder}; replace that deployment instead of deploying a second one there.`,
      );
    }
    const inodes = [...group.info.inodes];
    for (const inode of inodes) this.#holders.set(inode, deployment);
    return { [Symbol.dispose]: () => this.#forget(inodes) };
  }

  /** Records that `deployment` steers the group again, without a check: a restore of what the kernel already runs. */
  adopt(group: SocketGroup, deployment: string | undefined): void {
    for (const inode of group.info.inodes) this.#holders.set(inode, deployment);
  }

  /** The group's sockets are no longer steered by this backend (its deployment was closed or released). */
  free(group: SocketGroup): void {
    this.#forget(group.info.inodes);
  }

  #forget(inodes: readonly number[]): void {
    for (const inode of inodes) this.#holders.delete(inode);
  }
}
