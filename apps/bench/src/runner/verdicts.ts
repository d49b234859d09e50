import type { SweepExperiment, TokenQosExperiment } from './experiments.js';
import type { RunRecord } from './run-record.js';
import { median } from './median.js';

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

const msList = (values: readonly number[]): string => values.map((us) => (us / 1000).toFixed(2)).join(', ');

/**
 * token-qos, judged on the medians over the calibrated rounds (each run carries its round's
 * capacity): under token-qos the latency-sensitive user's p99 and drops, and the best-effort
 * user's service as a share of the round's spare tokens; under round-robin the
 * latency-sensitive user's p99. Reference runs (a `variant`) are not judged.
 */
export function tokenQosVerdict(experiment: TokenQosExperiment, comparisonRuns: readonly RunRecord[], rounds: ReadonlyArray<{ readonly rps: number }> = []): Verdict {
  const ls = String(experiment.lsUser);
  const be = String(experiment.beUser);
  const judged = (policy: string): RunRecord[] =>
    comparisonRuns.filter((r) => r.policy === policy && r.variant === undefined && r.capacityRps !== undefined && r.users?.[ls] !== undefined && r.users[be] !== undefined);
  const qos = judged('token-qos');
  const rr = judged('round-robin');
  const failedRounds = rounds.filter((r) => r.rps === 0).length;
  const roundNote = failedRounds > 0 ? [`${failedRounds} of ${rounds.length} rounds found no capacity within the bound and ran no comparison`] : [];
  if (qos.length === 0 || rr.length === 0) {
    return { target: experiment.target, measuredRatio: null, met: false, details: ['missing token-qos or round-robin runs', ...roundNote] };
  }
  // A verdict from a minority of the rounds is not a median of the experiment: too few to judge.
  const judgedRounds = Math.min(qos.length, rr.length);
  const enough = rounds.length === 0 || judgedRounds * 2 > rounds.length;
  if (!enough) roundNote.push(`only ${judgedRounds} of ${rounds.length} rounds were judged, fewer than half: inconclusive, so not met`);
  const qosLsP99 = qos.map((r) => r.users![ls]!.p99Us);
  const qosLsDropped = qos.map((r) => (r.users![ls]!.count === 0 ? 1 : r.users![ls]!.dropped / r.users![ls]!.count));
  const beShares = qos.map((r) => {
    const spare = (experiment.tokenShare - experiment.lsShare) * r.capacityRps!;
    return spare > 0 ? r.users![be]!.achievedRps / spare : 0;
  });
  const rrLsP99 = rr.map((r) => r.users![ls]!.p99Us);
  const lsP99 = median(qosLsP99);
  const lsDropped = median(qosLsDropped);
  const beShare = median(beShares);
  const rrP99 = median(rrLsP99);
  const lsOk = lsP99 <= experiment.lsP99BoundUs && lsDropped <= experiment.lsMaxDropped;
  const beOk = beShare >= experiment.beMinSpareShare;
  const rrOver = rrP99 > experiment.lsP99BoundUs;
  const details = [
    `token-qos: LS p99 ${(lsP99 / 1000).toFixed(2)} ms (median of ${qos.length} rounds: ${msList(qosLsP99)}), ${(lsDropped * 100).toFixed(2)}% LS dropped`,
    `token-qos: BE served ${Math.round(beShare * 100)}% of the spare tokens (median over rounds; per round ${beShares.map((s) => `${Math.round(s * 100)}%`).join(', ')})`,
    `round-robin: LS p99 ${(rrP99 / 1000).toFixed(2)} ms (median of ${rr.length} rounds: ${msList(rrLsP99)})`,
    ...roundNote,
  ];
  return { target: experiment.target, measuredRatio: ratio(rrP99, lsP99), met: enough && lsOk && beOk && rrOver, details };
}
