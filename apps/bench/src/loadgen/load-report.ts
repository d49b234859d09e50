import * as hdr from 'hdr-histogram-js';
import type { ArrivalSchedule } from './arrival-schedule.js';
import type { GcPauses } from './gc-pauses.js';
import type { OpenLoopResult } from './open-loop.js';
import { REQUEST_TYPE_NAMES, type RequestTypeName } from './request-mix.js';

/** Latency of one class of requests (a type or a user), microseconds, over the measured window. */
export interface LatencySummary {
  /** Requests of this class scheduled in the measured window. */
  readonly count: number;
  readonly received: number;
  /** Scheduled but unanswered by the end of the run plus the grace period (or never sent). */
  readonly dropped: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
  /**
   * p99 from the ACTUAL send time instead of the scheduled one: a diagnostic only (it hides the
   * generator's own lateness), to tell server delay from a starved generator on a busy machine.
   */
  readonly p99FromSendUs: number;
}

export interface UserSummary extends LatencySummary {
  readonly offeredRps: number;
  readonly achievedRps: number;
}

/** The load generator's one JSON object. */
export interface LoadReport {
  readonly target: string;
  /** udp, or af-xdp (see XskTransport). */
  readonly transport: string;
  /** Replies the generator's own AF_XDP socket lost in the kernel (null for udp): counted as dropped, but not the server's doing. */
  readonly transportDrops: number | null;
  readonly cpu: number | null;
  readonly offeredRps: number;
  /** Replies to measured requests per second of the measured window. */
  readonly achievedRps: number;
  readonly measuredWindowS: number;
  readonly warmupS: number;
  readonly flows: number;
  readonly sent: number;
  readonly received: number;
  readonly dropped: number;
  readonly sendFailures: number;
  readonly strayReplies: number;
  readonly byType: Partial<Record<RequestTypeName, LatencySummary>>;
  readonly byUser: Record<string, UserSummary>;
  /** Replies per server worker (from the worker index each reply carries), measured window and warm-up together. */
  readonly repliesPerWorker: number[];
  readonly gcPauses: GcPauses;
  /** Time the generator's thread was runnable but not running during the run (other processes had its CPU), ms. */
  readonly runQueueWaitMs: number | null;
  /** How far behind the schedule the measured window's sends went; latency already includes it. */
  readonly schedule: { readonly maxLatenessUs: number; readonly p99LatenessUs: number; readonly fellBehind: boolean };
  readonly aborted: boolean;
}

export interface ReportContext {
  readonly target: string;
  readonly transport: string;
  readonly transportDrops: number | null;
  readonly cpu: number | null;
  /** Offered rate per user id. */
  readonly userRates: ReadonlyMap<number, number>;
  readonly warmupS: number;
  readonly gcPauses: GcPauses;
  readonly runQueueWaitMs: number | null;
}

/** p99 lateness beyond this means the generator could not keep its own schedule. */
const FELL_BEHIND_US = 100;

function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3, autoResize: true });
}

function summarize(h: hdr.Histogram, fromSend: hdr.Histogram, count: number): LatencySummary {
  const received = h.totalCount;
  const empty = received === 0;
  // HDR answers a percentile with its bucket's highest equivalent value, which can exceed
  // the largest value recorded; a percentile above the maximum would be nonsense.
  const max = empty ? 0 : h.maxValue;
  const at = (percentile: number): number => (empty ? 0 : Math.min(h.getValueAtPercentile(percentile), max));
  return {
    count,
    received,
    dropped: count - received,
    p50Us: at(50),
    p99Us: at(99),
    p999Us: at(99.9),
    maxUs: max,
    meanUs: empty ? 0 : Math.round(h.mean * 10) / 10,
    p99FromSendUs: empty ? 0 : fromSend.getValueAtPercentile(99),
  };
}

/** Builds the HDR histograms (after the run, off the hot path) and the report. */
export function buildLoadReport(schedule: ArrivalSchedule, result: OpenLoopResult, context: ReportContext): LoadReport {
  const end = result.scheduled;
  const byType = REQUEST_TYPE_NAMES.map(() => ({ h: histogram(), fromSend: histogram(), count: 0 }));
  const byUser = new Map<number, { h: hdr.Histogram; fromSend: hdr.Histogram; count: number }>();
  for (const userId of context.userRates.keys()) byUser.set(userId, { h: histogram(), fromSend: histogram(), count: 0 });
  const lateness = histogram();
  let sent = 0;
  let received = 0;
  for (let i = 0; i < end; i++) {
    if (i < schedule.measuredFrom) continue;
    if (result.sent[i] === 1) lateness.recordValue(Math.max(0, result.latenessUs[i]!));
    const t = byType[schedule.type[i]!]!;
    let u = byUser.get(schedule.user[i]!);
    if (u === undefined) byUser.set(schedule.user[i]!, (u = { h: histogram(), fromSend: histogram(), count: 0 }));
    t.count++;
    u.count++;
    sent += result.sent[i]!;
    if (result.received[i] === 1) {
      received++;
      // A sub-microsecond reply still counts as 1 (HDR's lowest discernible value).
      const us = Math.max(1, result.latencyUs[i]!);
      t.h.recordValue(us);
      u.h.recordValue(us);
      const fromSend = Math.max(1, us - Math.max(0, result.latenessUs[i]!));
      t.fromSend.recordValue(fromSend);
      u.fromSend.recordValue(fromSend);
    }
  }
  const measuredCount = Math.max(0, end - schedule.measuredFrom);
  // An aborted run's window ends at the last request it scheduled.
  const windowS =
    result.aborted && end > schedule.measuredFrom ? (schedule.timeUs[end - 1]! - schedule.timeUs[schedule.measuredFrom]!) / 1e6 : schedule.measuredWindowS;
  const perSecond = (x: number): number => (windowS > 0 ? Math.round((x / windowS) * 10) / 10 : 0);
  const types: Partial<Record<RequestTypeName, LatencySummary>> = {};
  byType.forEach((t, i) => {
    if (t.count > 0) types[REQUEST_TYPE_NAMES[i]!] = summarize(t.h, t.fromSend, t.count);
  });
  const users: Record<string, UserSummary> = {};
  for (const [userId, u] of [...byUser].sort((a, b) => a[0] - b[0])) {
    const summary = summarize(u.h, u.fromSend, u.count);
    users[String(userId)] = { ...summary, offeredRps: context.userRates.get(userId) ?? 0, achievedRps: perSecond(summary.received) };
  }
  const p99LatenessUs = lateness.totalCount === 0 ? 0 : lateness.getValueAtPercentile(99);
  let lastWorker = result.repliesPerWorker.length;
  while (lastWorker > 0 && result.repliesPerWorker[lastWorker - 1] === 0) lastWorker--;
  return {
    target: context.target,
    transport: context.transport,
    transportDrops: context.transportDrops,
    cpu: context.cpu,
    offeredRps: [...context.userRates.values()].reduce((a, b) => a + b, 0),
    achievedRps: perSecond(received),
    measuredWindowS: Math.round(windowS * 1000) / 1000,
    warmupS: context.warmupS,
    flows: schedule.flows,
    sent,
    received,
    dropped: measuredCount - received,
    sendFailures: result.sendFailures,
    strayReplies: result.strayReplies,
    byType: types,
    byUser: users,
    repliesPerWorker: [...result.repliesPerWorker.subarray(0, lastWorker)],
    gcPauses: context.gcPauses,
    runQueueWaitMs: context.runQueueWaitMs,
    schedule: { maxLatenessUs: lateness.totalCount === 0 ? 0 : lateness.maxValue, p99LatenessUs, fellBehind: p99LatenessUs > FELL_BEHIND_US },
    aborted: result.aborted,
  };
}
