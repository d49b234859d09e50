/**
 * One reason a policy cannot run on the NIC, at the policy's line: what `syrup check` prints
 * as `<file>:<line>:<column>: <reason>`. A violation the policy text cannot be blamed for (the
 * whole program's stack) points at line 1, column 1.
 */
export interface NfpViolation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;
}

/** `<file>:<line>:<column>: <reason>`. */
export function formatViolation(violation: NfpViolation): string {
  return `${violation.file}:${violation.line}:${violation.column}: ${violation.reason}`;
}
