import { flattenTarget, type DeployTarget } from '@syrup/core';
import { NfpError } from './nfp-error.js';
import { NFP_MAX_QUEUE } from './nfp-offload-target.js';

/** A deploy target of `xdp-offload`, checked. */
export interface NfpTarget {
  /** The NFP interface (a vNIC of the card). */
  readonly ifname: string;
  /** The interface's network namespace (an `ip netns` name or a path), the caller's by default. */
  readonly netns: string | undefined;
  /** The UDP destination port whose datagrams the policy schedules (udp policies); other frames keep RSS's queue. */
  readonly port: number | undefined;
  /** The NIC queue of executor 0: executor k is RX queue `queue + k`. */
  readonly firstQueue: number;
}

/**
 * Reads `interface` (required to attach; code generation, for `compile` and `syrup disasm`,
 * needs only the port and queue), `extra.netns`, `port` and `queue` (default 0).
 */
export function nfpTarget(target: DeployTarget, use: 'attach' | 'compile' = 'attach'): NfpTarget {
  const flat = flattenTarget(target);
  const ifname = flat['interface'] ?? (use === 'compile' ? '' : undefined);
  if (typeof ifname !== 'string' || (ifname === '' && use === 'attach')) throw new NfpError('NFP_TARGET_INVALID', 'xdp-offload needs the NFP interface to run on (--interface).');
  const netns = flat['netns'];
  if (netns !== undefined && (typeof netns !== 'string' || netns === '')) throw new NfpError('NFP_TARGET_INVALID', 'netns must name a network namespace (an ip netns name or a path).');
  const port = flat['port'];
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 0xffff)) {
    throw new NfpError('NFP_TARGET_INVALID', `port ${String(port)} is not between 1 and 65535.`);
  }
  const queue = flat['queue'] ?? 0;
  if (typeof queue !== 'number' || !Number.isInteger(queue) || queue < 0 || queue > NFP_MAX_QUEUE) {
    throw new NfpError('NFP_TARGET_INVALID', `queue ${String(queue)} is not an RX queue the NFP can select (0 to ${NFP_MAX_QUEUE}).`);
  }
  return { ifname, netns: netns as string | undefined, port: port as number | undefined, firstQueue: queue };
}
