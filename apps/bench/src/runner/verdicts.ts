import type { SweepExperiment, TokenQosExperiment } from './experiments.js';
import type { RunRecord } from './run-record.js';

/** get-only's latency bound, microseconds. */
export const GET_P99_BOUND_US = 1000;

export interface Verdict {
  readonly target: string;
  /** The measured ratio the target is about (null when it could not be measured). */
  readonly measuredRatio: number | null;
  readonly met: boolean;
  /** One sentence per finding. */
  readonly details: readonly string[];
}

const ratio = (a: number | null | undefined, b: number | null | undefined): number | null =>
  a === null || a === undefined || b === null || b === undefined || b === 0 ? null : Math.round((a / b) * 100) / 100;

/** scan-mix: how many times lower than linux-default each policy keeps GET p99 at the target load. */
export function scanMixVerdict(experiment: SweepExperiment, points: readonly RunRecord[], requiredRatio = 8): Verdict {
  const load = experiment.targetLoad ?? Math.max(...points.map((p) => p.offeredRps));
  const at = (policy: string): RunRecord | undefined => points.find((p) => p.policy === policy && p.offeredRps === load);
  const baseline = at('linux-default');
  const details: string[] = [];
  const ratios: number[] = [];
  let allValid = baseline?.valid === true;
  for (const policy of ['sita', 'scan-avoid']) {
    const run = at(policy);
    const r = ratio(baseline?.getP99Us, run?.getP99Us);
    allValid &&= run?.valid === true;
    details.push(r === null ? `${policy}: no comparable run at ${load} req/s` : `${policy}: GET p99 ${r}x lower than linux-default at ${load} req/s`);
    ratios.push(r ?? 0);
  }
  if (!allValid) details.push('a compared run failed the validity rule');
  const measuredRatio = ratios.some((r) => r === 0) ? null : Math.min(...ratios);
  return { target: experiment.target, measuredRatio, met: allValid && measuredRatio !== null && measuredRatio >= requiredRatio, details };
}

/** The highest offered load at which `policy`'s reported run is valid with GET p99 within the bound (0 if none). */
export function sustainedLoad(points: readonly RunRecord[], policy: string, boundUs = GET_P99_BOUND_US): number {
  return Math.max(0, ...points.filter((p) => p.policy === policy && p.valid && p.getP99Us !== null && p.getP99Us <= boundUs).map((p) => p.offeredRps));
}

/** get-only: round-robin's sustained load over linux-default's. */
export function getOnlyVerdict(experiment: SweepExperiment, points: readonly RunRecord[], requiredRatio = 1.5): Verdict {
  const linux = sustainedLoad(points, 'linux-default');
  const roundRobin = sustainedLoad(points, 'round-robin');
  const measuredRatio = ratio(roundRobin, linux);
  const details = [
    `linux-default sustains ${linux} req/s at GET p99 <= 1 ms`,
    `round-robin sustains ${roundRobin} req/s at GET p99 <= 1 ms`,
    ...(linux === 0 ? ['linux-default sustains none of the swept loads, so the ratio is undefined (sweep lower loads)'] : []),
    ...(roundRobin === Math.max(...points.map((p) => p.offeredRps)) ? ['round-robin sustains the highest swept load, so its limit (and the ratio) may be higher'] : []),
  ];
  return { target: experiment.target, measuredRatio, met: measuredRatio !== null && measuredRatio >= requiredRatio, details };
}

/** token-qos: the latency-sensitive and best-effort users under each policy. */
export function tokenQosVerdict(experiment: TokenQosExperiment, capacityRps: number, points: readonly RunRecord[]): Verdict {
  const ls = String(experiment.lsUser);
  const be = String(experiment.beUser);
  const qos = points.find((p) => p.policy === 'token-qos')?.users;
  const rr = points.find((p) => p.policy === 'round-robin')?.users;
  const spare = (experiment.tokenShare - experiment.lsShare) * capacityRps;
  const details: string[] = [];
  if (qos?.[ls] === undefined || qos[be] === undefined || rr?.[ls] === undefined) {
    return { target: experiment.target, measuredRatio: null, met: false, details: ['missing token-qos or round-robin run'] };
  }
  const lsDropped = qos[ls].count === 0 ? 1 : qos[ls].dropped / qos[ls].count;
  const beServedShare = spare > 0 ? qos[be].achievedRps / spare : 0;
  const lsOk = qos[ls].p99Us <= experiment.lsP99BoundUs && lsDropped <= experiment.lsMaxDropped;
  const beOk = beServedShare >= experiment.beMinSpareShare;
  const rrOver = rr[ls].p99Us > experiment.lsP99BoundUs;
  details.push(`token-qos: LS p99 ${(qos[ls].p99Us / 1000).toFixed(2)} ms, ${(lsDropped * 100).toFixed(2)}% LS dropped`);
  details.push(`token-qos: BE served ${Math.round(qos[be].achievedRps)} req/s = ${Math.round(beServedShare * 100)}% of the spare ${Math.round(spare)} req/s`);
  details.push(`round-robin: LS p99 ${(rr[ls].p99Us / 1000).toFixed(2)} ms`);
  return { target: experiment.target, measuredRatio: ratio(rr[ls].p99Us, qos[ls].p99Us), met: lsOk && beOk && rrOver, details };
}
