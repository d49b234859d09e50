import { readFileSync } from 'node:fs';
import { OwnershipError } from '../errors/ownership-error.js';
import type { TargetClaim } from './target-claim.js';

/**
 * The claim of a deployment whose target is a process (a thread hook's process, the owner of
 * a socket group). Not exclusive: it records the use, and ownership is proven by uid
 * ({@link requireProcessOwner}), so two tenants never both pass for one process.
 */
export function processClaim(pid: number): TargetClaim {
  return { kind: 'process', key: String(pid), exclusive: false, taken: `process ${pid} is the target of a policy of {holder}, so {caller} may not deploy on it.` };
}

/** The real uid of `pid` (the first Uid field of its status), or undefined when there is no such process. */
export function processRealUid(pid: number, procRoot = '/proc'): number | undefined {
  try {
    const match = /^Uid:\s+(\d+)/m.exec(readFileSync(`${procRoot}/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * Refuses unless `pid` is a live process whose real uid is `uid`: the rule of a hook whose
 * target is a process of the caller (any backend's `authorize` may use it). `what` ends the
 * refusal: "process 50 belongs to uid 1002, so uid 1001 may not <what>."
 */
export function requireProcessOwner(pid: number, uid: number, what: string, procRoot = '/proc'): void {
  const owner = processRealUid(pid, procRoot);
  if (owner === undefined) throw new OwnershipError('TARGET_NOT_FOUND', `no process has pid ${pid}.`);
  if (owner !== uid) throw new OwnershipError('NOT_OWNER', `process ${pid} belongs to uid ${owner}, so uid ${uid} may not ${what}.`);
}
