import { SyrupError } from '@syrup/core';
import { describeProfile, type NfpFirmwareProfile } from './nfp-firmware-profile.js';
import { formatViolation, type NfpViolation } from './nfp-violation.js';

/** Stable codes of the NFP backend's refusals. */
export type NfpErrorCode =
  /** The policy uses what the NFP JIT or the firmware profile cannot run; `violations` lists each at its line. */
  | 'NFP_POLICY_NOT_OFFLOADABLE'
  /** The interface is not a device the kernel offloads BPF programs to. */
  | 'NFP_DEVICE_NOT_CAPABLE'
  /** The target names no interface, or one this network namespace does not have. */
  | 'NFP_TARGET_INVALID'
  /** The deployment asked to share maps: an offloaded program reads only maps on its own device. */
  | 'NFP_SHARED_MAP_UNSUPPORTED'
  /** An artifact of another backend or hook. */
  | 'NFP_FOREIGN_ARTIFACT';

export class NfpError extends SyrupError<NfpErrorCode> {
  override name = 'NfpError';
  /** For NFP_POLICY_NOT_OFFLOADABLE: every violation, in policy order. */
  readonly violations: readonly NfpViolation[];
  /** For NFP_POLICY_NOT_OFFLOADABLE: the firmware profile the policy was validated against (`syrup check` prints it). */
  readonly notes: readonly string[];

  constructor(code: NfpErrorCode, message: string, options: { cause?: unknown; violations?: readonly NfpViolation[]; notes?: readonly string[] } = {}) {
    super(code, message, options.cause === undefined ? undefined : { cause: options.cause });
    this.violations = options.violations ?? [];
    this.notes = options.notes ?? [];
  }

  /** The refusal of a policy with these violations: the first in the sentence, all in `violations`. */
  static notOffloadable(policy: string, violations: readonly NfpViolation[], profile?: NfpFirmwareProfile): NfpError {
    const more = violations.length === 1 ? '' : ` (and ${violations.length - 1} more violation${violations.length === 2 ? '' : 's'})`;
    const first = formatViolation(violations[0]!).replace(/\.$/, '');
    const notes = profile === undefined ? [] : [`validated against NFP firmware profile ${describeProfile(profile)}`];
    return new NfpError('NFP_POLICY_NOT_OFFLOADABLE', `policy '${policy}' cannot run on the NFP: ${first}${more}.`, { violations, notes });
  }
}
