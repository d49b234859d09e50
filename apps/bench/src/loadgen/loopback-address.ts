import { SyrupError } from '@syrup/core';
import { inNamedNamespace, readNamespaceClaim } from './namespace-claim.js';

/**
 * The load generator only ever talks to this machine: an open-loop generator pointed at a
 * remote host would be a packet flood, so anything but a loopback address is refused, except
 * the veth peer address of a namespace the experiment runner created for this run (see
 * `targetAddress`).
 */
export class NotLoopbackError extends SyrupError<'LOADGEN_NOT_LOOPBACK'> {
  constructor(host: string, reason?: string) {
    super(
      'LOADGEN_NOT_LOOPBACK',
      reason === undefined
        ? `the load generator only sends to loopback addresses (127.0.0.0/8 or localhost), not ${host}`
        : `the load generator sends to ${host} only as the veth peer of a namespace its runner created in this run, and ${reason}`,
    );
    this.name = 'NotLoopbackError';
  }
}

type Address = readonly [number, number, number, number];

function parseIpv4(host: string): Address | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (match === null) return undefined;
  const bytes = [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])] as const;
  return bytes.some((b) => b > 255) ? undefined : bytes;
}

/** The IPv4 address of `host` as four bytes, or a NotLoopbackError when it is not 127.x.y.z. */
export function parseLoopbackHost(host: string): Address {
  if (host === 'localhost') return [127, 0, 0, 1];
  const bytes = parseIpv4(host);
  if (bytes === undefined || bytes[0] !== 127) throw new NotLoopbackError(host);
  return bytes;
}

/**
 * The address the load generator may send to: a loopback address, or, with `namespace`, the
 * veth peer address the runner recorded for that namespace, and only when this process runs
 * inside it and its parent is the runner that created it (so a namespace of an earlier run,
 * or another program's, never qualifies). Anything else is a NotLoopbackError.
 */
export function targetAddress(host: string, namespace?: string, parentPid = process.ppid): Address {
  if (namespace === undefined) return parseLoopbackHost(host);
  const bytes = parseIpv4(host);
  if (bytes === undefined) throw new NotLoopbackError(host, `${host} is not an IPv4 address`);
  if (bytes[0] === 127) return bytes;
  const claim = readNamespaceClaim(namespace);
  if (claim === undefined) throw new NotLoopbackError(host, `namespace ${namespace} was not created by an experiment runner`);
  if (claim.runnerPid !== parentPid) throw new NotLoopbackError(host, `namespace ${namespace} belongs to runner ${claim.runnerPid}, not to this one's (${parentPid})`);
  if (!inNamedNamespace(namespace)) throw new NotLoopbackError(host, `this process does not run in namespace ${namespace}`);
  if (claim.peerAddress !== host) throw new NotLoopbackError(host, `the veth peer address of namespace ${namespace} is ${claim.peerAddress}`);
  return bytes;
}
