import { SyrupError } from './syrup-error.js';

/**
 * Codes of target-ownership refusals:
 * - NOT_OWNER: the target (a process, a port) belongs to another uid, or the caller cannot prove it owns it;
 * - TARGET_NOT_FOUND: nothing is bound where the target points, so nobody owns it yet;
 * - TARGET_TAKEN: another tenant already holds that part of a shared hook (a routed port, an AF_XDP queue);
 * - TARGET_UNKNOWN: the runtime cannot tell who owns targets of that hook, so only root deploys there.
 *
 * A backend's `authorize` throws them (its proof of ownership); the runtime throws TARGET_TAKEN
 * for a claim another tenant holds, and TARGET_UNKNOWN for a backend without `authorize`.
 */
export type OwnershipErrorCode = 'NOT_OWNER' | 'TARGET_NOT_FOUND' | 'TARGET_TAKEN' | 'TARGET_UNKNOWN';

/** A tenant asked to deploy on a target it does not own; the message names the owner or what is missing. */
export class OwnershipError extends SyrupError<OwnershipErrorCode> {
  override name = 'OwnershipError';
}
