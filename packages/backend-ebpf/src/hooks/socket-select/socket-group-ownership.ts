import { OwnershipError, processClaim, requireProcessOwner, type Authorization, type DeployTarget } from '@syrup/core';
import { canonicalAddress, type ProcSocket, type ProcView, type SocketProtocol } from '../proc-view.js';
import { uidList } from '../uid-list.js';

/**
 * socket-select's proof of ownership (docs/architecture.md, "syrupd"): the reuseport group on
 * the port belongs to a process of the caller's real uid. With `pid`, that process must be
 * the caller's and hold a socket bound to the port. Without it, every socket bound to the port
 * must have been created by the caller's uid (the uid column of /proc/net/udp|tcp[6], the
 * daemon's namespace) and a process of that uid must hold them all; that process is written
 * into the target as `pid`, so the hook takes exactly the sockets checked here and the
 * deployment follows that process. Explicit `extra.sockets` are the daemon's own descriptors
 * and never a tenant's to name.
 *
 * It reads /proc at deploy time; a process that binds and exits right after is caught by the
 * hook itself (it takes the sockets by inode) and by the deployment ending with its target.
 */
export function authorizeSocketGroup(proc: ProcView, target: DeployTarget, protocol: SocketProtocol, uid: number): Authorization {
  if (target.extra !== undefined && Object.hasOwn(target.extra, 'sockets')) {
    throw new OwnershipError('NOT_OWNER', `extra.sockets name the runtime's own descriptors, so uid ${uid} must name its socket group by port instead.`);
  }
  const port = target.port;
  if (port === undefined) throw new OwnershipError('NOT_OWNER', `uid ${uid} must name the port of a socket group it bound.`);
  const address = typeof target.extra?.['address'] === 'string' ? canonicalAddress(target.extra['address']) : undefined;
  const onPort = (entry: ProcSocket): boolean => entry.bound && entry.port === port && (address === undefined || entry.address === address);
  const what = protocol === 'udp' ? 'bound to' : 'listening on';

  if (target.pid !== undefined) {
    const pid = target.pid;
    requireProcessOwner(pid, uid, 'deploy on its sockets', proc.root);
    const bound = proc.sockets(protocol, pid).filter(onPort);
    if (bound.length === 0) throw new OwnershipError('TARGET_NOT_FOUND', `no ${protocol} socket is ${what} port ${port} in the network namespace of process ${pid}.`);
    const held = proc.socketInodes(pid) ?? new Set<number>();
    if (!bound.some((s) => held.has(s.inode))) {
      throw new OwnershipError('NOT_OWNER', `process ${pid} holds none of the sockets on ${protocol} port ${port} (${uidList(bound)} bound them), so the group there is not its.`);
    }
    return { target, claims: [processClaim(pid)] };
  }

  const bound = proc.sockets(protocol, 'self').filter(onPort);
  if (bound.length === 0) throw new OwnershipError('TARGET_NOT_FOUND', `no ${protocol} socket is ${what} port ${port}, so uid ${uid} owns no socket group there.`);
  const foreign = bound.filter((s) => s.uid !== uid);
  if (foreign.length > 0) throw new OwnershipError('NOT_OWNER', `port ${port} is bound by ${uidList(foreign)}, not by uid ${uid}.`);
  // The owner is a process of the caller's uid holding every socket of the port; a server
  // that forked holds them in several processes, and the lowest pid (usually the parent) is taken.
  const inodes = bound.map((s) => s.inode);
  const holders = proc.pids().filter((pid) => {
    if (proc.realUid(pid) !== uid) return false;
    const held = proc.socketInodes(pid);
    return held !== undefined && inodes.every((inode) => held.has(inode));
  });
  const owner = holders.length === 0 ? undefined : Math.min(...holders);
  if (owner === undefined) {
    throw new OwnershipError('NOT_OWNER', `no process of uid ${uid} holds every socket on ${protocol} port ${port}; name the owner of the group with pid.`);
  }
  return { target: { ...target, pid: owner }, claims: [processClaim(owner)] };
}
