import type { DeployTarget, HookSpec, InputKind } from '@syrup/core';
import { OwnershipError } from './ownership-error.js';
import { canonicalAddress, fileIdentity, ProcView, type ProcSocket, type SocketProtocol } from './proc-view.js';

/** What the runtime asks about one deploy request. */
export interface OwnershipRequest {
  /** The spec of the hook asked for, as the registry returned it (its executor kind picks the rule). */
  readonly hook: HookSpec;
  readonly target: DeployTarget;
  /** The policy's input kind: socket-select's protocol when the target names none. */
  readonly input: InputKind;
  readonly caller: { readonly uid: number };
}

/** A live deployment, as far as claims on shared hooks go. */
export interface ClaimedTarget {
  readonly hook: string;
  readonly target: DeployTarget;
  readonly owner: number;
}

/** Where `ip netns add` bind-mounts named namespaces (the same rule as backend-ebpf's `extra.netns`). */
const NETNS_RUN_DIR = '/run/netns';

/**
 * The one place that decides whether a caller owns the target it deploys on (DESIGN.md,
 * "syrupd": a tenant can deploy only on targets it owns, and a refusal names the reason).
 * Root (uid 0, and the embedded runtime) may deploy anywhere; for anyone else the rule follows
 * the hook's executor kind, never a backend's name:
 * - `socket` (socket-select): the reuseport group on the port belongs to a process of the
 *   caller's real uid. With `pid`, that process must be the caller's and hold a socket bound to
 *   the port. Without it, every socket bound to the port must have been created by the caller's
 *   uid (the uid column of /proc/net/udp|tcp[6], this namespace) and a process of that uid must
 *   hold them all; that process is written into the target as `pid`, so the backend takes
 *   exactly the sockets checked here and the deployment follows that process.
 * - `xsk`, `cpu`, `nic-queue` (the XDP hooks): the port is proven by a process of the caller's
 *   uid holding a bound UDP socket on it in the interface's network namespace (`extra.netns`,
 *   or the daemon's own). These hooks share one dispatcher per interface, so a port another
 *   tenant already routes there is refused with its owner, and so is an RX queue on which
 *   another tenant owns AF_XDP executors: one queue serves one UMEM, hence one tenant.
 *   PASS, DROP and CPU-redirect policies of many tenants share the dispatcher freely.
 * - `core` (thread): the process named by `pid` must be the caller's.
 * Any other executor kind is root-only: the runtime cannot tell who owns such targets.
 *
 * The checks read /proc at deploy time; a process that binds and exits right after is caught
 * by the backend itself (it takes the sockets by inode) and by the deployment ending with its target.
 */
export class TargetOwnership {
  constructor(private readonly proc: ProcView = new ProcView()) {}

  /** The target to deploy on (with the owner process pinned when it was found by port), or an OwnershipError. */
  authorize(request: OwnershipRequest, deployments: Iterable<ClaimedTarget>): DeployTarget {
    const { hook, target, caller } = request;
    if (caller.uid === 0) return target;
    switch (hook.executor) {
      case 'socket':
        return this.#socketGroup(target, protocolOf(request), caller.uid);
      case 'xsk':
      case 'cpu':
      case 'nic-queue':
        this.#routedPort(hook, target, caller.uid, [...deployments]);
        return target;
      case 'core':
        if (target.pid === undefined) throw new OwnershipError('NOT_OWNER', `hook '${hook.id}' schedules a process's threads, so uid ${caller.uid} must name one of its processes with pid.`);
        this.#process(target.pid, caller.uid, 'schedule its threads');
        return target;
      default:
        throw new OwnershipError('TARGET_UNKNOWN', `the runtime cannot tell who owns targets of hook '${hook.id}', so only root may deploy there.`);
    }
  }

  /** Refuses unless `pid` is a live process whose real uid is `uid`. */
  #process(pid: number, uid: number, what: string): void {
    const owner = this.proc.realUid(pid);
    if (owner === undefined) throw new OwnershipError('TARGET_NOT_FOUND', `no process has pid ${pid}.`);
    if (owner !== uid) throw new OwnershipError('NOT_OWNER', `process ${pid} belongs to uid ${owner}, so uid ${uid} may not ${what}.`);
  }

  #socketGroup(target: DeployTarget, protocol: SocketProtocol, uid: number): DeployTarget {
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
      this.#process(pid, uid, 'deploy on its sockets');
      const bound = this.proc.sockets(protocol, pid).filter(onPort);
      if (bound.length === 0) throw new OwnershipError('TARGET_NOT_FOUND', `no ${protocol} socket is ${what} port ${port} in the network namespace of process ${pid}.`);
      const held = this.proc.socketInodes(pid) ?? new Set<number>();
      if (!bound.some((s) => held.has(s.inode))) {
        throw new OwnershipError('NOT_OWNER', `process ${pid} holds none of the sockets on ${protocol} port ${port} (${uidList(bound)} bound them), so the group there is not its.`);
      }
      return target;
    }

    const bound = this.proc.sockets(protocol, 'self').filter(onPort);
    if (bound.length === 0) throw new OwnershipError('TARGET_NOT_FOUND', `no ${protocol} socket is ${what} port ${port}, so uid ${uid} owns no socket group there.`);
    const foreign = bound.filter((s) => s.uid !== uid);
    if (foreign.length > 0) throw new OwnershipError('NOT_OWNER', `port ${port} is bound by ${uidList(foreign)}, not by uid ${uid}.`);
    // The owner is a process of the caller's uid holding every socket of the port; a server
    // that forked holds them in several processes, and the lowest pid (usually the parent) is taken.
    const inodes = bound.map((s) => s.inode);
    const holders = this.proc.pids().filter((pid) => {
      if (this.proc.realUid(pid) !== uid) return false;
      const held = this.proc.socketInodes(pid);
      return held !== undefined && inodes.every((inode) => held.has(inode));
    });
    const owner = holders.length === 0 ? undefined : Math.min(...holders);
    if (owner === undefined) {
      throw new OwnershipError('NOT_OWNER', `no process of uid ${uid} holds every socket on ${protocol} port ${port}; name the owner of the group with pid.`);
    }
    return { ...target, pid: owner };
  }

  #routedPort(hook: HookSpec, target: DeployTarget, uid: number, deployments: readonly ClaimedTarget[]): void {
    const port = target.port;
    const ifname = target.interface;
    if (port === undefined || ifname === undefined) {
      throw new OwnershipError('NOT_OWNER', `hook '${hook.id}' routes one UDP port of an interface to a policy, so uid ${uid} must name the interface and a port it holds a bound UDP socket on.`);
    }
    const netns = netnsOf(target);
    const namespace = this.#namespaceId(netns);
    const where = `'${ifname}'${netns === undefined ? '' : ` in network namespace '${netns}'`}`;
    if (namespace === undefined) throw new OwnershipError('TARGET_NOT_FOUND', `there is no network namespace '${netns ?? ''}'.`);

    // Claims first: they name the other tenant even when the caller also bound the port.
    const queue = target.queue ?? 0;
    const wantsXsk = hook.executor === 'xsk' && hasXskExecutors(target);
    for (const other of deployments) {
      if (other.owner === uid || other.target.interface !== ifname || this.#namespaceId(netnsOf(other.target)) !== namespace) continue;
      if (other.target.port === port) {
        throw new OwnershipError('TARGET_TAKEN', `UDP port ${port} on ${where} is already routed to a policy of uid ${other.owner}, so uid ${uid} may not route it.`);
      }
      if (wantsXsk && hasXskExecutors(other.target) && (other.target.queue ?? 0) === queue) {
        throw new OwnershipError(
          'TARGET_TAKEN',
          `queue ${queue} of ${where} already has AF_XDP executors of uid ${other.owner}, and one queue serves one tenant's AF_XDP executors (one UMEM), so uid ${uid} may not add its own there.`,
        );
      }
    }

    // Proof: a process of the caller's uid in that namespace holds a bound UDP socket on the port.
    const mine = this.proc.pids().filter((pid) => this.proc.realUid(pid) === uid && this.proc.netnsOf(pid) === namespace);
    const held = new Set<number>();
    for (const pid of mine) for (const inode of this.proc.socketInodes(pid) ?? []) held.add(inode);
    const reader = mine[0] ?? (netns === undefined ? 'self' : this.proc.pids().find((pid) => this.proc.netnsOf(pid) === namespace));
    const bound = reader === undefined ? [] : this.proc.sockets('udp', reader).filter((s) => s.bound && s.port === port);
    if (bound.some((s) => held.has(s.inode))) return;
    if (bound.length > 0) throw new OwnershipError('NOT_OWNER', `UDP port ${port} on ${where} is bound by ${uidList(bound)}, not by uid ${uid}.`);
    throw new OwnershipError(
      'TARGET_NOT_FOUND',
      `no UDP socket is bound to port ${port} in the network namespace of ${where}; uid ${uid} proves it owns the port by holding one there.`,
    );
  }

  /** The identity of an `extra.netns` (an `ip netns` name or a path), or of the runtime's own namespace. */
  #namespaceId(netns: string | undefined): string | undefined {
    if (netns === undefined) return this.proc.netnsOf('self');
    return fileIdentity(netns.startsWith('/') ? netns : `${NETNS_RUN_DIR}/${netns}`);
  }
}

function protocolOf(request: OwnershipRequest): SocketProtocol {
  return request.target.protocol ?? (request.input === 'tcp' ? 'tcp' : 'udp');
}

function netnsOf(target: DeployTarget): string | undefined {
  const netns = target.extra?.['netns'];
  return typeof netns === 'string' && netns !== '' ? netns : undefined;
}

/** True when the target asks for AF_XDP executors: sockets the hook opens, or the application's own. */
function hasXskExecutors(target: DeployTarget): boolean {
  return target.extra?.['xskCount'] !== undefined || target.extra?.['xskSockets'] !== undefined;
}

/** `uid 1001`, or `uids 1001 and 1002`. */
function uidList(sockets: readonly ProcSocket[]): string {
  const uids = [...new Set(sockets.map((s) => s.uid))].sort((a, b) => a - b);
  return uids.length === 1 ? `uid ${uids[0]}` : `uids ${uids.slice(0, -1).join(', ')} and ${uids.at(-1)}`;
}
