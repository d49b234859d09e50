import { SyrupError } from '@syrup/core';

/** Stable codes of the thread backend's refusals. */
export type GhostErrorCode =
  /** An enclave's CPU list or process is not one the backend can manage. */
  | 'GHOST_ENCLAVE_INVALID'
  /** A driver was used after close(), or a second agent was started on it. */
  | 'GHOST_DRIVER_CLOSED'
  | 'GHOST_DRIVER_BUSY'
  /** A message arrived for a thread in a state it cannot leave that way (a bug in a driver). */
  | 'GHOST_THREAD_STATE'
  /** A kernel call the stock-Linux driver needs failed. */
  | 'GHOST_KERNEL';

/** A refusal of the thread backend: one sentence that says what and where. */
export class GhostError extends SyrupError<GhostErrorCode> {
  override name = 'GhostError';
}
