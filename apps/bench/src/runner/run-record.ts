import type { LoadReport } from '../loadgen/load-report.js';
import type { StoppedLine } from '../server/server-lines.js';
import type { Quartiles } from './quartiles.js';

/** A compared run counts only if the server kept up with the offered load and dropped (almost) nothing. */
export const MIN_ACHIEVED_FRACTION = 0.98;
export const MAX_DROPPED_FRACTION = 0.001;

/** One measured run: one policy at one offered load (one repeat). Latencies in microseconds. */
export interface RunRecord {
  readonly policy: string;
  readonly offeredRps: number;
  readonly achievedRps: number;
  readonly getP50Us: number | null;
  readonly getP99Us: number | null;
  readonly getP999Us: number | null;
  readonly scanP99Us: number | null;
  /** Diagnostic: GET p99 from the actual send time (excludes the load generator's own lateness). */
  readonly getP99FromSendUs: number | null;
  /** Requests of the measured window left unanswered. */
  readonly dropped: number;
  readonly requests: number;
  readonly valid: boolean;
  /** Why the run does not count, when it does not. */
  readonly invalidReason?: string;
  readonly repeat: number;
  /** Per user (token-qos): offered and achieved rates, p99 and drops. */
  readonly users?: Record<string, { offeredRps: number; achievedRps: number; p50Us: number; p99Us: number; p999Us: number; dropped: number; count: number }>;
  readonly loadgen: {
    readonly cpu: number | null;
    readonly gcPauses: LoadReport['gcPauses'];
    readonly runQueueWaitMs: number | null;
    readonly schedule: LoadReport['schedule'];
    /** Replies the generator's own AF_XDP socket lost (af-xdp transport only). */
    readonly transportDrops?: number;
  };
  readonly servedPerWorker?: readonly number[];
  /** token-qos: the round a comparison run belongs to and the saturation throughput S it was run against. */
  readonly round?: number;
  readonly saturationRps?: number;
  /**
   * With a thread policy: the CPU time of its agent's threads in the server (the main thread's
   * agent loop and its ring buffer's readiness thread) over the load generator's run (start-up
   * to grace), as a share of one CPU.
   */
  readonly agentCpuShare?: number;
  /** Host steal time per CPU during the load (warm-up included), ms: how much the shared machine took from this run. */
  readonly hostStealMs?: readonly number[];
  /** Runs of the same point that this one is the median of (set on the reported run). */
  readonly repeatsOfPoint?: number;
  /** GET p99 over the point's rounds, median and interquartile range (set on the reported run of a point with GET replies). */
  readonly getP99Spread?: Quartiles;
  /** mica: the workload the run offered. */
  readonly workload?: string;
  /** mica: each worker's CPU share and the main thread's (over the load generator's run, start-up to grace), worker CPU per request, handoffs and the deepest handoff queue. */
  readonly mica?: {
    readonly cpuShare: readonly number[];
    readonly mainCpuShare: number;
    readonly cpuUsPerRequest: number;
    readonly handedOff: number;
    readonly handoffHighWater: number;
    readonly served: number;
    /** Requests the workers dropped (no room in a handoff ring or on TX). */
    readonly dropped: number;
    /** Each AF_XDP socket's kernel drops (XDP_STATISTICS rx_dropped + rx_ring_full) over the server's life, warm-up included: requests that never reached a worker. */
    readonly socketDropped?: readonly number[];
    /** Each CPU's busy share over the load generator's run (/proc/stat; steal left out). The load generator busy-polls its CPU, so only the server CPUs' figures say how loaded the server was. */
    readonly cpuBusy?: readonly number[];
  };
  /** token-qos: each user's p99 over the rounds (set on the reported run). */
  readonly userP99Spread?: Record<string, Quartiles>;
}

/** Applies the validity rule: achieved >= 98% of offered and at most 0.1% dropped. */
export function judgeRun(offeredRps: number, achievedRps: number, dropped: number, requests: number): { valid: boolean; invalidReason?: string } {
  const reasons: string[] = [];
  if (achievedRps < MIN_ACHIEVED_FRACTION * offeredRps) reasons.push(`achieved ${Math.round(achievedRps)} < 98% of offered ${Math.round(offeredRps)}`);
  if (requests > 0 && dropped / requests > MAX_DROPPED_FRACTION) reasons.push(`dropped ${((100 * dropped) / requests).toFixed(2)}% > 0.1%`);
  return reasons.length === 0 ? { valid: true } : { valid: false, invalidReason: reasons.join('; ') };
}

/** The run record of one loadgen report (and the server's stopped line, when it printed one). */
export function toRunRecord(policy: string, report: LoadReport, stopped: StoppedLine | undefined, repeat: number): RunRecord {
  const get = report.byType.GET;
  const scan = report.byType.SCAN;
  const requests = report.received + report.dropped;
  const users: NonNullable<RunRecord['users']> = {};
  for (const [id, u] of Object.entries(report.byUser)) {
    users[id] = { offeredRps: u.offeredRps, achievedRps: u.achievedRps, p50Us: u.p50Us, p99Us: u.p99Us, p999Us: u.p999Us, dropped: u.dropped, count: u.count };
  }
  return {
    policy,
    offeredRps: report.offeredRps,
    achievedRps: report.achievedRps,
    getP50Us: get?.p50Us ?? null,
    getP99Us: get?.p99Us ?? null,
    getP999Us: get?.p999Us ?? null,
    scanP99Us: scan?.p99Us ?? null,
    getP99FromSendUs: get?.p99FromSendUs ?? null,
    dropped: report.dropped,
    requests,
    ...judgeRun(report.offeredRps, report.achievedRps, report.dropped, requests),
    repeat,
    ...(Object.keys(users).length > 1 ? { users } : {}),
    loadgen: {
      cpu: report.cpu,
      gcPauses: report.gcPauses,
      runQueueWaitMs: report.runQueueWaitMs,
      schedule: report.schedule,
      ...(report.transportDrops === null || report.transportDrops === undefined ? {} : { transportDrops: report.transportDrops }),
    },
    ...(stopped === undefined ? {} : { servedPerWorker: stopped.servedPerWorker }),
  };
}

/**
 * The run reported for one (policy, load) point out of its repeats: the median by GET p99
 * (a run with no GET latency sorts last), so one disturbed repeat on a shared machine neither
 * flatters nor sinks a policy. `p99` picks another latency to rank by (token-qos: the
 * latency-sensitive user's).
 */
export function medianRun(runs: readonly RunRecord[], p99: (run: RunRecord) => number = (run) => run.getP99Us ?? Infinity): RunRecord {
  if (runs.length === 0) throw new RangeError('no runs to take the median of');
  const sorted = [...runs].sort((a, b) => p99(a) - p99(b));
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, repeatsOfPoint: runs.length };
}
