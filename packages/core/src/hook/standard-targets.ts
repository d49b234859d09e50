import { z } from 'zod';
import type { TargetSchema } from './target-fields.js';

/*
 * The target fields of the standard hooks, whichever backend provides them. Only types are
 * checked here (an integer, a list of integers, one of a few words): ranges and combinations
 * are the providing backend's to refuse, in its own words. Fields a backend takes only from
 * an embedded caller (open sockets, programs) are left out: they are not data, and the loose
 * schemas pass them through. Every field is optional here, even those a hook needs: the
 * backend's refusal of a missing one says why the hook needs it (and a socket-select target
 * may name its sockets instead of a port).
 */

const port = z.number().int().describe('the UDP or TCP port');
const pid = z.number().int();
const iface = z.string().describe('the network interface whose XDP hook runs the policy (needed)');
const netns = z.string().describe("the interface's network namespace: an ip netns name or a path (the daemon's own by default)");
const queue = z.number().int().describe('the RX queue the AF_XDP executors are bound to (default 0)');

const xdp = z.looseObject({
  interface: iface.optional(),
  netns: netns.optional(),
  port: port.describe('the UDP destination port routed to the policy (needed)').optional(),
  queue: queue.optional(),
  protocol: z.enum(['udp', 'tcp']).describe('the protocol (the hook serves udp)').optional(),
  xskPid: pid.describe('a process of the caller whose AF_XDP sockets bound to that interface and queue are the executors, in ascending fd order').optional(),
});

export const STANDARD_TARGETS: Readonly<Record<string, TargetSchema>> = Object.freeze({
  'socket-select': z.looseObject({
    port: port.describe('the port of the socket group').optional(),
    protocol: z.enum(['udp', 'tcp']).describe("the group's protocol (the policy's input kind by default)").optional(),
    pid: pid.describe('the process holding the group (found from the port when left out)').optional(),
    address: z.string().describe("the group's local address, when the port has several groups").optional(),
  }),
  'xdp-skb': xdp,
  'xdp-drv': xdp,
  'cpu-redirect': z.looseObject({
    interface: iface.optional(),
    netns: netns.optional(),
    port: port.describe('the UDP destination port routed to the policy (needed)').optional(),
    protocol: z.enum(['udp', 'tcp']).describe('the protocol (the hook serves udp)').optional(),
    cpus: z.array(z.number().int()).describe('the CPUs that are executors, executor k being the k-th (every online CPU by default)').optional(),
    cpuQueueSize: z.number().int().describe('frames queued per CPU (default 2048)').optional(),
    mode: z.enum(['skb', 'drv']).describe('the XDP mode (by default the running dispatcher\'s, else drv where the driver has it)').optional(),
  }),
  'xdp-offload': z.looseObject({
    interface: iface.optional(),
    port: port.describe('the UDP destination port routed to the policy (needed)').optional(),
    queue: z.number().int().describe('the first NIC queue of the executors').optional(),
  }),
  thread: z.looseObject({
    pid: pid.describe('the process whose threads the policy schedules').optional(),
  }),
});
