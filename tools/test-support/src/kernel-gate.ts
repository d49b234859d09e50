import { readFileSync } from 'node:fs';
import { describe, it } from 'vitest';

const CAP_NET_ADMIN = 12n;
const CAP_SYS_ADMIN = 21n;
const CAP_BPF = 39n;

/** Why this process cannot run kernel tests, or undefined when it can. */
export function kernelUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `kernel tests need Linux, this is ${process.platform}`;
  let capEff = 0n;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const line = status.split('\n').find((l) => l.startsWith('CapEff:'));
    capEff = line ? BigInt(`0x${line.slice('CapEff:'.length).trim()}`) : 0n;
  } catch {
    return 'kernel tests need /proc/self/status to read capabilities';
  }
  const has = (cap: bigint): boolean => ((capEff >> cap) & 1n) === 1n;
  const missing: string[] = [];
  if (!has(CAP_BPF) && !has(CAP_SYS_ADMIN)) missing.push('CAP_BPF');
  if (!has(CAP_NET_ADMIN)) missing.push('CAP_NET_ADMIN');
  if (missing.length > 0) return `kernel tests need root or ${missing.join(' and ')}`;
  return undefined;
}

/** True when SYRUP_REQUIRE_KERNEL=1: a kernel test that cannot run is then a failure, not a skip. */
export const kernelRequired = process.env['SYRUP_REQUIRE_KERNEL'] === '1';

/**
 * `describe` for suites that need the real kernel. Without privileges the suite skips with a
 * one-line reason; under SYRUP_REQUIRE_KERNEL=1 it fails with that reason instead.
 */
export function describeKernel(name: string, body: () => void): void {
  describeGated(name, kernelUnavailableReason(), body);
}

/** Why this process cannot act as root (start processes of other uids), or undefined when it can. */
export function rootUnavailableReason(): string | undefined {
  return process.getuid?.() === 0 ? undefined : 'this suite needs root, to start processes of other uids';
}

/** `describe` for suites that need root itself (processes of other uids); skips and fails like {@link describeKernel}. */
export function describeAsRoot(name: string, body: () => void): void {
  describeGated(name, rootUnavailableReason(), body);
}

function describeGated(name: string, reason: string | undefined, body: () => void): void {
  if (reason === undefined) {
    describe(name, body);
    return;
  }
  if (kernelRequired) {
    describe(name, () => {
      it('runs with the privileges it needs', () => {
        throw new Error(`SYRUP_REQUIRE_KERNEL=1 but ${reason}`);
      });
    });
    return;
  }
  describe.skip(`${name} (skipped: ${reason})`, body);
}
