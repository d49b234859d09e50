import type { DeployTarget } from '@syrup/core';
import { Program } from '../../programs/program.js';
import { XskSocket } from '../../xsk/xsk-socket.js';
import { XskSocketGroup } from '../../xsk/xsk-socket-group.js';
import type { XskUmemOptions } from '../../xsk/xsk-umem.js';
import { XdpHookError } from './xdp-hook-error.js';

export type XdpHookId = 'xdp-skb' | 'xdp-drv' | 'cpu-redirect';

/** Where AF_XDP executors come from. */
export type XskExecutors =
  | { readonly kind: 'none' }
  /** The application's sockets: executor k is `sockets[k]`; the hook never closes them. */
  | { readonly kind: 'given'; readonly sockets: readonly XskSocket[] }
  /** The hook opens `count` sockets sharing one UMEM and closes them when the attachment closes. */
  | { readonly kind: 'create'; readonly count: number; readonly umem: XskUmemOptions }
  /** The AF_XDP sockets of process `pid` (a daemon's tenant), taken with pidfd_getfd: executor k is its k-th in ascending fd order. */
  | { readonly kind: 'process'; readonly pid: number };

/** A deploy target of an XDP hook, checked. */
export interface XdpTarget {
  readonly ifname: string;
  readonly netns: string | undefined;
  /** The RX queue the AF_XDP executors serve; cpu-redirect serves every queue. */
  readonly queue: number;
  readonly port: number;
  /** cpu-redirect only: the mode asked for, or undefined to prefer drv. */
  readonly mode: 'skb' | 'drv' | undefined;
  readonly xsk: XskExecutors;
  /** cpu-redirect only: the CPUs that are targets (executor k is CPU k); undefined for every online CPU. */
  readonly cpus: readonly number[] | undefined;
  readonly cpuQueueSize: number;
  readonly cpuProgram: Program | undefined;
}

export const DEFAULT_CPU_QUEUE_SIZE = 2048;

const XSK_EXTRAS = ['xskSockets', 'xskCount', 'xskPid', 'xskFrameSize', 'xskFrameCount'] as const;
const CPU_EXTRAS = ['cpus', 'cpuQueueSize', 'cpuProgram', 'mode'] as const;
const COMMON_EXTRAS = ['netns'] as const;

/**
 * Reads a deploy target for an XDP hook:
 * - `interface` (required) and `extra.netns` (the interface's network namespace, an `ip netns`
 *   name or a path; the caller's by default);
 * - `port` (required): the UDP destination port whose datagrams the policy schedules; the
 *   dispatcher routes only that port to it;
 * - `queue` (default 0): the RX queue the AF_XDP executors are bound to;
 * - xdp-skb / xdp-drv: `extra.xskSockets` (an `XskSocketGroup` or `XskSocket[]` the
 *   application opened on that interface and queue), or `extra.xskCount` (the hook opens that
 *   many sockets sharing one UMEM, with `extra.xskFrameSize`/`xskFrameCount`), or
 *   `extra.xskPid` (the AF_XDP sockets of that process, which the CLI names: taken with
 *   pidfd_getfd in ascending fd order, as socket-select takes a process's sockets), or none of
 *   them (a policy answering only PASS or DROP);
 * - cpu-redirect: `extra.cpus` (CPU numbers; every online CPU by default), `extra.cpuQueueSize`
 *   (default 2048 frames), `extra.cpuProgram` (an XDP program loaded for XDP_CPUMAP, run on
 *   the target CPU) and `extra.mode` ('skb' or 'drv'; by default the interface's running
 *   dispatcher's mode, else drv where the driver has it).
 */
export function parseXdpTarget(hook: XdpHookId, target: DeployTarget): XdpTarget {
  const extra = target.extra ?? {};
  const fail = (message: string): never => {
    throw new XdpHookError('XDP_TARGET_INVALID', message);
  };
  const allowed = new Set<string>([...COMMON_EXTRAS, ...(hook === 'cpu-redirect' ? CPU_EXTRAS : XSK_EXTRAS)]);
  for (const key of Object.keys(extra)) {
    if (!allowed.has(key)) fail(`hook '${hook}' takes no target option '${key}' (it takes ${[...allowed].join(', ')}).`);
  }
  const ifname = target.interface;
  if (typeof ifname !== 'string' || ifname === '') fail(`hook '${hook}' needs the target's interface: the network device whose XDP hook runs the policy.`);
  const port = target.port;
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 0xffff) {
    fail(`hook '${hook}' needs the target's UDP port (1 to 65535): the dispatcher routes that port's datagrams to the policy.`);
  }
  if (target.protocol !== undefined && target.protocol !== 'udp') fail(`hook '${hook}' serves UDP ports, not ${target.protocol}.`);
  const queue = target.queue ?? 0;
  if (!Number.isInteger(queue) || queue < 0) fail(`queue ${String(queue)} is not an RX queue index.`);
  const netns = extra['netns'];
  if (netns !== undefined && (typeof netns !== 'string' || netns === '')) fail('extra.netns must name a network namespace (an ip netns name or a path).');

  let xsk: XskExecutors = { kind: 'none' };
  if (hook !== 'cpu-redirect') {
    const given = extra['xskSockets'];
    const count = extra['xskCount'];
    const pid = extra['xskPid'];
    if (given !== undefined && count !== undefined) fail('give either extra.xskSockets (your sockets) or extra.xskCount (the hook opens them), not both.');
    if (pid !== undefined && (given !== undefined || count !== undefined)) fail('extra.xskPid names the process whose AF_XDP sockets are the executors, so it takes neither extra.xskSockets nor extra.xskCount.');
    if (pid !== undefined) {
      if (typeof pid !== 'number' || !Number.isInteger(pid) || pid < 1) fail('extra.xskPid must be a process id.');
      xsk = { kind: 'process', pid: pid as number };
    } else if (given !== undefined) {
      const sockets = given instanceof XskSocketGroup ? given.sockets : Array.isArray(given) ? (given as unknown[]) : undefined;
      if (sockets === undefined || sockets.length === 0 || !sockets.every((s) => s instanceof XskSocket)) {
        fail('extra.xskSockets must be an XskSocketGroup or a non-empty array of XskSocket.');
      }
      const list = sockets as XskSocket[];
      if (list.some((s) => s.closed)) fail('extra.xskSockets holds a closed AF_XDP socket.');
      if (list.some((s) => s.queue !== queue)) fail(`every socket of extra.xskSockets must be bound to queue ${queue}, the target's queue.`);
      xsk = { kind: 'given', sockets: list };
    } else if (count !== undefined) {
      if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > 64) fail('extra.xskCount must be an integer from 1 to 64.');
      const frameSize = extra['xskFrameSize'];
      const frameCount = extra['xskFrameCount'];
      if (frameSize !== undefined && frameSize !== 2048 && frameSize !== 4096) fail('extra.xskFrameSize must be 2048 or 4096.');
      if (frameCount !== undefined && (typeof frameCount !== 'number' || !Number.isInteger(frameCount) || frameCount < 1)) fail('extra.xskFrameCount must be a positive integer.');
      xsk = {
        kind: 'create',
        count: count as number,
        umem: {
          ...(frameSize === undefined ? {} : { frameSize: frameSize as 2048 | 4096 }),
          ...(frameCount === undefined ? {} : { frameCount: frameCount as number }),
        },
      };
    }
  }

  let cpus: number[] | undefined;
  let cpuQueueSize = DEFAULT_CPU_QUEUE_SIZE;
  let cpuProgram: Program | undefined;
  let mode: 'skb' | 'drv' | undefined;
  if (hook === 'cpu-redirect') {
    const list = extra['cpus'];
    if (list !== undefined) {
      if (!Array.isArray(list) || list.length === 0 || !list.every((c) => Number.isInteger(c) && (c as number) >= 0)) fail('extra.cpus must be a non-empty array of CPU numbers.');
      cpus = [...new Set(list as number[])];
    }
    const size = extra['cpuQueueSize'];
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 16384) fail('extra.cpuQueueSize must be an integer from 1 to 16384 frames.');
      cpuQueueSize = size as number;
    }
    const program = extra['cpuProgram'];
    if (program !== undefined) {
      if (!(program instanceof Program) || program.closed) fail('extra.cpuProgram must be an open XDP Program loaded with expected attach type XDP_CPUMAP.');
      cpuProgram = program as Program;
    }
    const asked = extra['mode'];
    if (asked !== undefined && asked !== 'skb' && asked !== 'drv') fail("extra.mode must be 'skb' or 'drv'.");
    mode = asked as 'skb' | 'drv' | undefined;
  }
  return {
    ifname: ifname as string,
    netns: netns as string | undefined,
    queue,
    port: port as number,
    mode,
    xsk,
    cpus,
    cpuQueueSize,
    cpuProgram,
  };
}
