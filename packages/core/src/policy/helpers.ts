import { PolicyHelperError } from '../errors/syrup-error.js';

// These exist so that policy modules type-check in an editor. The compiler recognises calls to
// them by name and emits the target's own helper; calling them as JavaScript is a mistake.

/** A pseudo-random u32. */
export function random(): number {
  throw new PolicyHelperError('random');
}

/** Monotonic time in nanoseconds. */
export function now(): number {
  throw new PolicyHelperError('now');
}

/** The CPU the policy is running on. */
export function cpu(): number {
  throw new PolicyHelperError('cpu');
}
