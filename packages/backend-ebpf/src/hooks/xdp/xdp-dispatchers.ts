import { join } from 'node:path';
import { RestoreError } from '@syrup/core';
import { interfaceIndex } from '../../links/interface-index.js';
import { LinkError } from '../../links/link-error.js';
import { networkNamespaceIdentity } from '../../links/network-namespace-identity.js';
import { inNetworkNamespace } from '../../links/network-namespace.js';
import { nativeSyscalls } from '../../syscalls/native-syscalls.js';
import type { Syscalls } from '../../syscalls/syscalls.js';
import { attachDispatcher, closeDispatcherObjects } from './dispatcher-attach.js';
import type { DispatcherLease } from './dispatcher-lease.js';
import { dispatcherDirName, dispatcherKey, type AcquireDispatcherOptions, type DispatcherLocation } from './dispatcher-location.js';
import { abandonPinnedRoute, DispatcherPinSet, openDispatcherPins } from './dispatcher-pins.js';
import { XdpDispatcher, type DispatcherOwner } from './xdp-dispatcher.js';
import { XdpHookError } from './xdp-hook-error.js';

/**
 * The XDP dispatchers of one backend instance, by interface (network namespace identity and
 * ifindex): the ones running in this process, and the ones it pinned and let go of (their
 * deployments released), which a later lease or restore opens again from their pins instead
 * of attaching. The XDP hooks of one backend share one of these, so that all their policies on
 * an interface go through one dispatcher; a second backend in the same process would find an
 * interface's dispatcher attached by the first one (EBUSY) and refuse to attach there.
 */
export class XdpDispatchers {
  readonly #running = new Map<string, XdpDispatcher>();
  /** Pinned by this backend, held by no lease, still routing: found again through their pins. */
  readonly #parked = new Map<string, DispatcherLocation>();
  readonly #owner: DispatcherOwner = {
    park: (key, dispatcher, location) => {
      this.#parked.set(key, location);
      if (this.#running.get(key) === dispatcher) this.#running.delete(key);
    },
    forget: (key, dispatcher) => {
      if (this.#running.get(key) === dispatcher) this.#running.delete(key);
      this.#parked.delete(key);
    },
  };

  /**
   * Leases a slot for `port` (optionally bound to one RX `queue`) on the interface's
   * dispatcher, attaching one first if none runs. The port is not routed until the lease
   * installs a program.
   */
  lease(options: AcquireDispatcherOptions & { port: number; queue?: number }): DispatcherLease<XdpDispatcher> {
    const sys = options.sys ?? nativeSyscalls();
    const key = dispatcherKey(networkNamespaceIdentity(options.netns), options.ifindex);
    const where = `'${options.ifname}'${options.netns === undefined ? '' : ` in network namespace '${options.netns}'`}`;
    // A dispatcher this backend pinned and let go of (its deployments released) is found again through its pins.
    let dispatcher = this.#running.get(key) ?? this.#unpark(key, sys);
    if (dispatcher !== undefined && options.mode !== 'prefer-drv' && dispatcher.mode !== options.mode) {
      throw new XdpHookError(
        'XDP_MODE_CONFLICT',
        `${where} already runs the Syrup dispatcher in ${dispatcher.mode} mode, and a device runs XDP in one mode at a time, so a ${options.mode}-mode policy cannot join it.`,
      );
    }
    if (dispatcher !== undefined && dispatcher.serves(options.port)) {
      throw new XdpHookError('XDP_PORT_TAKEN', `UDP port ${options.port} on ${where} is already served by another policy.`);
    }
    if (dispatcher === undefined) {
      dispatcher = new XdpDispatcher(key, { ifname: options.ifname, ifindex: options.ifindex, netns: options.netns }, attachDispatcher(options, where, sys), this.#owner);
      this.#running.set(key, dispatcher);
    }
    return dispatcher.lease(options.port, options.queue);
  }

  /**
   * The dispatcher a persisted deployment recorded, for its restore: the one this backend runs
   * on that interface (its objects must be the recorded ones), or the pinned one opened again,
   * each pin checked against the record (`RESTORE_UNTRUSTED` otherwise). A dispatcher whose
   * link was detached meanwhile (the interface went away) has its pins removed and is
   * `RESTORE_TARGET_GONE`. Opening one also removes the routes of AF_XDP policies: their
   * sockets belonged to the process that stopped, so nothing can serve those ports any more.
   * The caller claims its route with `claim`, or calls `leaveIfIdle` when it does not.
   */
  restore(location: DispatcherLocation, sys: Syscalls): XdpDispatcher {
    const key = dispatcherKey(location.netnsId, location.ifindex);
    const running = this.#running.get(key);
    if (running === undefined) return this.#open(key, location, sys);
    running.expectRecorded(location);
    return running;
  }

  /** The dispatcher this backend runs on an interface, if any (for tests and diagnostics). */
  running(ifindex: number, netns?: string): XdpDispatcher | undefined {
    return this.#running.get(dispatcherKey(networkNamespaceIdentity(netns), ifindex));
  }

  /**
   * Undoes the route of `port` that a daemon which died in the middle of a deploy (or of an
   * undeploy it could not restore) left on the interface's dispatcher: the port is unrouted
   * and its slot emptied, unless a deployment of this backend holds the port. The dispatcher
   * is the one this backend runs there (recovery restored a deployment on it) or, failing
   * that, the one pinned under `sharedDir` by our naming, which is detached and unpinned when
   * no route is left. A dispatcher that was never pinned closed with the daemon that attached
   * it, and an interface that is gone took its XDP program with it: nothing to undo then.
   */
  abandonRoute(options: { ifname: string; netns: string | undefined; port: number; sharedDir: string; sys: Syscalls }): void {
    const { ifname, netns, port, sys } = options;
    let ifindex: number;
    try {
      const lookup = (): number => interfaceIndex(ifname, { sys });
      ifindex = netns === undefined ? lookup() : inNetworkNamespace(netns, lookup, { sys });
    } catch (error) {
      if (error instanceof LinkError && (error.code === 'INTERFACE_NOT_FOUND' || error.code === 'NETNS_FAILED')) return;
      throw error;
    }
    const key = dispatcherKey(networkNamespaceIdentity(netns), ifindex);
    const running = this.#running.get(key);
    if (running !== undefined) {
      running.abandonRoute(port);
      return;
    }
    abandonPinnedRoute(join(options.sharedDir, dispatcherDirName(key)), port, sys);
  }

  /** A dispatcher this backend pinned and parked, opened again from its pins; undefined when that fails (then a fresh attach says why). */
  #unpark(key: string, sys: Syscalls): XdpDispatcher | undefined {
    const location = this.#parked.get(key);
    if (location === undefined) return undefined;
    try {
      return this.#open(key, location, sys);
    } catch {
      this.#parked.delete(key);
      return undefined;
    }
  }

  /** Opens a pinned dispatcher and checks every pin against the record (see `restore`). */
  #open(key: string, location: DispatcherLocation, sys: Syscalls): XdpDispatcher {
    let objects;
    try {
      objects = openDispatcherPins(location, sys, () => interfaceGone(location, sys));
    } catch (error) {
      // Gone with its interface: a later lease there attaches a new one.
      if (error instanceof RestoreError && error.code === 'RESTORE_TARGET_GONE') this.#parked.delete(key);
      throw error;
    }
    const dispatcher = new XdpDispatcher(key, location, objects, this.#owner, DispatcherPinSet.of(location));
    try {
      dispatcher.sweepAfXdpRoutes();
    } catch (error) {
      // Not running yet: closing its fds leaves the pins and what they keep attached.
      closeDispatcherObjects(objects);
      throw error;
    }
    this.#running.set(key, dispatcher);
    this.#parked.delete(key);
    return dispatcher;
  }
}

/** Whether the recorded interface is gone: its namespace, or a device of that name and index in it. */
function interfaceGone(location: DispatcherLocation, sys: Syscalls): boolean {
  try {
    if (networkNamespaceIdentity(location.netns) !== location.netnsId) return true;
    const lookup = (): number => interfaceIndex(location.ifname, { sys });
    return (location.netns === undefined ? lookup() : inNetworkNamespace(location.netns, lookup, { sys })) !== location.ifindex;
  } catch (error) {
    if (error instanceof LinkError && (error.code === 'INTERFACE_NOT_FOUND' || error.code === 'NETNS_FAILED')) return true;
    throw error;
  }
}
