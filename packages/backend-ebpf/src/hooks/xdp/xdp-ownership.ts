import { OwnershipError, processClaim, requireProcessOwner, type Authorization, type DeployTarget, type TargetClaim } from '@syrup/core';
import { fileIdentity, type ProcView } from '../proc-view.js';
import { uidList } from '../uid-list.js';
import type { XdpHookId } from './xdp-target.js';

/** Where `ip netns add` bind-mounts named namespaces (the same rule as `extra.netns` at attach). */
const NETNS_RUN_DIR = '/run/netns';

/**
 * The XDP hooks' claims and proof of ownership (docs/architecture.md, "syrupd"). These hooks
 * share one dispatcher per interface, so:
 * - a deployment claims its UDP port on the interface in its network namespace (`udp-port`,
 *   exclusive: the dispatcher routes a port to one policy), and, with AF_XDP executors, the RX
 *   queue (`xdp-queue`, exclusive: one queue serves one UMEM, hence one tenant);
 * - the port is proven by a process of the caller's uid holding a bound UDP socket on it in
 *   the interface's network namespace (`extra.netns`, or the daemon's own);
 * - `extra.xskPid`, whose AF_XDP sockets become the executors, must be a process of the caller.
 * PASS, DROP and CPU-redirect policies of many tenants share the dispatcher freely.
 */
export class XdpOwnership {
  constructor(private readonly proc: ProcView) {}

  /** What a deployment on `target` holds; keys use the namespace's identity, so two names of one namespace are one key. */
  claims(hook: XdpHookId, target: DeployTarget): TargetClaim[] {
    const port = target.port;
    const ifname = target.interface;
    if (port === undefined || ifname === undefined) return [];
    const netns = netnsOf(target);
    const where = describeWhere(ifname, netns);
    // An unknown namespace claims under its name: `authorize` refuses it, and root's attach fails on it.
    const namespace = this.#namespaceId(netns) ?? `name:${netns ?? ''}`;
    const claims: TargetClaim[] = [
      {
        kind: 'udp-port',
        key: `${namespace}/${ifname}/${port}`,
        exclusive: true,
        taken: `UDP port ${port} on ${where} is already routed to a policy of {holder}, so {caller} may not route it.`,
      },
    ];
    if (hook !== 'cpu-redirect' && hasXskExecutors(target)) {
      const queue = target.queue ?? 0;
      claims.push({
        kind: 'xdp-queue',
        key: `${namespace}/${ifname}/${queue}`,
        exclusive: true,
        taken: `queue ${queue} of ${where} already has AF_XDP executors of {holder}, and one queue serves one tenant's AF_XDP executors (one UMEM), so {caller} may not add its own there.`,
      });
    }
    const xskPid = xskPidOf(target);
    if (xskPid !== undefined) claims.push(processClaim(xskPid));
    return claims;
  }

  /** The target as given, with its claims, or an OwnershipError. */
  authorize(hook: XdpHookId, target: DeployTarget, uid: number): Authorization {
    const port = target.port;
    const ifname = target.interface;
    if (port === undefined || ifname === undefined) {
      throw new OwnershipError('NOT_OWNER', `hook '${hook}' routes one UDP port of an interface to a policy, so uid ${uid} must name the interface and a port it holds a bound UDP socket on.`);
    }
    const netns = netnsOf(target);
    const namespace = this.#namespaceId(netns);
    const where = describeWhere(ifname, netns);
    if (namespace === undefined) throw new OwnershipError('TARGET_NOT_FOUND', `there is no network namespace '${netns ?? ''}'.`);
    const xskPid = xskPidOf(target);
    if (xskPid !== undefined) requireProcessOwner(xskPid, uid, 'use its AF_XDP sockets', this.proc.root);

    // Proof: a process of the caller's uid in that namespace holds a bound UDP socket on the port.
    const mine = this.proc.pids().filter((pid) => this.proc.realUid(pid) === uid && this.proc.netnsOf(pid) === namespace);
    const held = new Set<number>();
    for (const pid of mine) for (const inode of this.proc.socketInodes(pid) ?? []) held.add(inode);
    const reader = mine[0] ?? (netns === undefined ? 'self' : this.proc.pids().find((pid) => this.proc.netnsOf(pid) === namespace));
    const bound = reader === undefined ? [] : this.proc.sockets('udp', reader).filter((s) => s.bound && s.port === port);
    if (bound.some((s) => held.has(s.inode))) return { target, claims: this.claims(hook, target) };
    if (bound.length > 0) throw new OwnershipError('NOT_OWNER', `UDP port ${port} on ${where} is bound by ${uidList(bound)}, not by uid ${uid}.`);
    throw new OwnershipError(
      'TARGET_NOT_FOUND',
      `no UDP socket is bound to port ${port} in the network namespace of ${where}; uid ${uid} proves it owns the port by holding one there.`,
    );
  }

  /** The identity of an `extra.netns` (an `ip netns` name or a path), or of the daemon's own namespace. */
  #namespaceId(netns: string | undefined): string | undefined {
    if (netns === undefined) return this.proc.netnsOf('self');
    return fileIdentity(netns.startsWith('/') ? netns : `${NETNS_RUN_DIR}/${netns}`);
  }
}

function describeWhere(ifname: string, netns: string | undefined): string {
  return `'${ifname}'${netns === undefined ? '' : ` in network namespace '${netns}'`}`;
}

function netnsOf(target: DeployTarget): string | undefined {
  const netns = target.extra?.['netns'];
  return typeof netns === 'string' && netns !== '' ? netns : undefined;
}

function xskPidOf(target: DeployTarget): number | undefined {
  const pid = target.extra?.['xskPid'];
  return typeof pid === 'number' ? pid : undefined;
}

/** True when the target asks for AF_XDP executors: sockets the hook opens, the application's own, or a process's. */
function hasXskExecutors(target: DeployTarget): boolean {
  return target.extra?.['xskCount'] !== undefined || target.extra?.['xskSockets'] !== undefined || target.extra?.['xskPid'] !== undefined;
}
