import { buildArrivalSchedule, type UserStream } from './arrival-schedule.js';
import { FlowSockets } from './flow-sockets.js';
import type { LoadTransport } from './load-transport.js';
import { watchGcPauses } from './gc-pauses.js';
import { buildLoadReport, type LoadReport } from './load-report.js';
import { targetAddress } from './loopback-address.js';
import { runOpenLoop } from './open-loop.js';
import { pinToCpu } from './pin-to-cpu.js';
import { runQueueWaitNs } from './run-queue-wait.js';
import type { RequestMix } from './request-mix.js';
import { HEADER_BYTES } from '../wire/request-header.js';
import { XskTransport } from './xsk-transport.js';

/** How requests and replies cross the kernel: UDP sockets, or an AF_XDP socket on the generator's veth (see XskTransport). */
export type TransportName = 'udp' | 'af-xdp';

export interface LoadgenOptions {
  /** A loopback address, or the veth peer address of `namespace` (see targetAddress). */
  readonly host: string;
  /** The runner's namespace this generator runs in (`ip netns exec`), when it sends to a veth peer. */
  readonly namespace?: string;
  readonly port: number;
  /** One Poisson stream per user; a single-user run is `[{ user: 0, rate }]`. */
  readonly users: readonly UserStream[];
  /** Flows (client sockets, each its own source port) per user. */
  readonly flows: number;
  readonly mix: RequestMix;
  readonly keys: number;
  readonly durationS: number;
  /** At most this many measured requests; the run stops at whichever bound comes first. */
  readonly count?: number;
  readonly warmupS: number;
  readonly graceMs: number;
  /** CPU to pin the generator's thread to; null leaves it unpinned (tests). */
  readonly cpu: number | null;
  readonly seed: number;
  /** Default udp; af-xdp only with `namespace` (XDP in driver mode does not run on loopback). */
  readonly transport?: TransportName;
  readonly signal?: AbortSignal;
}

/** One load-generator run: precompute, pin, open the flows, run the open loop, report. */
export async function runLoadgen(options: LoadgenOptions): Promise<LoadReport> {
  const host = targetAddress(options.host, options.namespace);
  if (!Number.isInteger(options.port) || options.port <= 0 || options.port > 65535) throw new RangeError(`--port must be 1-65535, got ${options.port}`);
  if (!Number.isInteger(options.flows) || options.flows < 1) throw new RangeError(`--flows must be a positive integer, got ${options.flows}`);
  if (!(options.durationS > 0)) throw new RangeError(`--duration must be positive, got ${options.durationS}`);
  const transportName = options.transport ?? 'udp';
  if (transportName === 'af-xdp' && options.namespace === undefined) throw new RangeError('--transport af-xdp needs --namespace: XDP in driver mode runs on the runner\'s veth, not on loopback');
  const userIds = new Set(options.users.map((u) => u.user));
  if (userIds.size !== options.users.length) throw new RangeError('each user may be given once');
  const schedule = buildArrivalSchedule({
    streams: options.users,
    flowsPerUser: options.flows,
    mix: options.mix,
    keys: options.keys,
    warmupS: options.warmupS,
    durationS: options.durationS,
    ...(options.count === undefined ? {} : { maxCount: options.count }),
    seed: options.seed,
  });
  const cpu = options.cpu === null ? null : pinToCpu(options.cpu);
  using transport: LoadTransport =
    transportName === 'af-xdp' ? await XskTransport.open(host, options.port, schedule.flows, HEADER_BYTES) : new FlowSockets(host, options.port, schedule.flows);
  // Building the schedule left garbage behind; collect it now (when the process runs with
  // --expose-gc, as bin/loadgen.mjs and the runner start it) rather than in a pause mid-run.
  (globalThis as { gc?: () => void }).gc?.();
  const gc = watchGcPauses();
  const waitBefore = runQueueWaitNs();
  const result = await runOpenLoop(schedule, transport, { graceMs: options.graceMs, ...(options.signal === undefined ? {} : { signal: options.signal }) });
  const waitAfter = runQueueWaitNs();
  const gcPauses = await gc.stop();
  return buildLoadReport(schedule, result, {
    target: `${host.join('.')}:${options.port}`,
    transport: transportName,
    transportDrops: transport.receiveDrops(),
    cpu,
    userRates: new Map(options.users.map((u) => [u.user, u.rate])),
    warmupS: options.warmupS,
    gcPauses,
    runQueueWaitMs: waitBefore === undefined || waitAfter === undefined ? null : Math.round((waitAfter - waitBefore) / 1e4) / 100,
  });
}
