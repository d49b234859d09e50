import { isSyscallError } from '../errors/syscall-error.js';
import type { Fd } from '../fd.js';
import type { Syscalls } from '../syscalls/syscalls.js';
import { MSG_DONTWAIT } from './xsk-constants.js';
import { XskError } from './xsk-error.js';
import type { XskProducerRing } from './xsk-ring.js';

export interface KickTransmitOptions {
  /** `sendto` calls at most; each transmits up to the kernel's copy-mode batch of 32 frames. */
  readonly rounds: number;
  /**
   * Runs after each call: the COMPLETION ring's consumer reaps there, which is the room the
   * kernel needs when it answered EBUSY or ENOBUFS. Without it those answers end the kick,
   * since retrying at once would find the same full queue.
   */
  readonly afterEach?: () => void;
  /** Names the socket in an error. */
  readonly label: string;
}

/**
 * Asks the kernel to transmit what socket `fd`'s TX ring `tx` holds, one `sendto` per batch
 * while the ring is not empty and asks for a wakeup: in copy mode one call sends at most 32
 * frames and answers EAGAIN for the rest, so a single call per batch of more than 32 would
 * leave replies waiting on the ring. Returns the frames still on it.
 */
export function kickTransmit(sys: Syscalls, fd: Fd, tx: XskProducerRing, options: KickTransmitOptions): number {
  for (let round = 0; round < options.rounds && tx.outstanding() > 0 && tx.needsWakeup(); round++) {
    try {
      sys.sendto(fd, null, MSG_DONTWAIT);
    } catch (error) {
      const full = isSyscallError(error, 'EBUSY') || isSyscallError(error, 'ENOBUFS');
      if (!full && !isSyscallError(error, 'EAGAIN')) {
        throw new XskError('XSK_TRANSMIT_FAILED', `${options.label} cannot transmit: ${(error as Error).message}`, { cause: error });
      }
      if (full && options.afterEach === undefined) break;
    }
    options.afterEach?.();
  }
  return tx.outstanding();
}
