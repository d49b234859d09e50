import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';

/**
 * A pin root no daemon and no other test run uses: tests pin under it and remove it in
 * afterEach/afterAll, whatever happened.
 */
export function uniquePinRoot(): string {
  return `/sys/fs/bpf/syrup-test-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Removes a pin root and everything pinned under it; a missing root is fine. */
export function removePinRoot(root: string): void {
  rmSync(root, { recursive: true, force: true });
}
