import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The record by which the experiment runner claims a network namespace it created for one
 * run: the load generator may send to an address other than loopback only inside such a
 * namespace, only to the veth peer address recorded there, and only when the runner that
 * wrote the claim is its own parent (the same run). Claims live in a root-only directory.
 */
export interface NamespaceClaim {
  /** The namespace (an `ip netns` name) the load generator runs in. */
  readonly namespace: string;
  /** The address at the other end of its veth pair: the one address it may send to. */
  readonly peerAddress: string;
  /** The runner process that created the namespace in this run. */
  readonly runnerPid: number;
}

export const NAMESPACE_CLAIM_DIR = '/run/syrup-bench';

const claimPath = (namespace: string, dir: string): string => join(dir, `${namespace}.json`);

/** Writes the claim (readable and writable by root only); `removeNamespaceClaim` takes it back. */
export function writeNamespaceClaim(claim: NamespaceClaim, dir = NAMESPACE_CLAIM_DIR): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(claimPath(claim.namespace, dir), `${JSON.stringify(claim)}\n`, { mode: 0o600 });
}

export function removeNamespaceClaim(namespace: string, dir = NAMESPACE_CLAIM_DIR): void {
  rmSync(claimPath(namespace, dir), { force: true });
}

/** The claim on `namespace`, or undefined when none was written (or it is not one). */
export function readNamespaceClaim(namespace: string, dir = NAMESPACE_CLAIM_DIR): NamespaceClaim | undefined {
  try {
    const claim = JSON.parse(readFileSync(claimPath(namespace, dir), 'utf8')) as Partial<NamespaceClaim>;
    if (claim.namespace !== namespace || typeof claim.peerAddress !== 'string' || !Number.isInteger(claim.runnerPid)) return undefined;
    return claim as NamespaceClaim;
  } catch {
    return undefined;
  }
}

/** Whether this process runs in the network namespace `ip netns` calls `namespace` (same inode and device). */
export function inNamedNamespace(namespace: string): boolean {
  try {
    const mine = statSync('/proc/self/ns/net');
    const named = statSync(`/run/netns/${namespace}`);
    return mine.ino === named.ino && mine.dev === named.dev;
  } catch {
    return false;
  }
}
