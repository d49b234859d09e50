import type { MicaExperiment, SweepExperiment, TokenQosExperiment } from './experiments.js';
import { judgeRun } from './run-record.js';
import type { RunRecord } from './run-record.js';
import { median } from './median.js';
import { quartiles, type Quartiles } from './quartiles.js';

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


/** The rounds (`repeat`s) present among `runs`, ascending. */
export function roundsOf(runs: readonly RunRecord[]): number[] {
  return [...new Set(runs.map((r) => r.repeat))].sort((a, b) => a - b);
}

const times = (x: number): string => `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}x`;

/** "median 9.1x (IQR 7.2x-12x over 5 rounds)". */
export const ratioSpread = (q: Quartiles): string => `${times(q.median)} (median of ${q.count} rounds' ratios, IQR ${times(q.q1)}-${times(q.q3)})`;

/** A verdict judged on fewer than half of its rounds is not a median of the experiment. */
export const enoughRounds = (judged: number, rounds: number): boolean => judged > 0 && judged * 2 > rounds;

/**
 * scan-mix: per round, how many times lower than linux-default's each policy keeps GET p99
 * at the target load (both runs of the round side by side, both valid); the target is judged
 * on the median of those per-round ratios, the smaller of SITA's and scan-avoid's.
 */
export function scanMixVerdict(experiment: SweepExperiment, runs: readonly RunRecord[], requiredRatio = 8): Verdict {
  const load = experiment.targetLoad ?? Math.max(...runs.map((p) => p.offeredRps));
  const atLoad = runs.filter((r) => r.offeredRps === load);
  const rounds = roundsOf(atLoad);
  const at = (policy: string, round: number): RunRecord | undefined => atLoad.find((p) => p.policy === policy && p.repeat === round);
  const details: string[] = [];
  const medians: number[] = [];
  let conclusive = true;
  for (const policy of ['sita', 'scan-avoid']) {
    const ratios: number[] = [];
    let invalid = 0;
    for (const round of rounds) {
      const baseline = at('linux-default', round);
      const run = at(policy, round);
      if (baseline === undefined || run === undefined) continue;
      if (!baseline.valid || !run.valid || baseline.getP99Us === null || run.getP99Us === null || run.getP99Us <= 0) invalid++;
      else ratios.push(baseline.getP99Us / run.getP99Us);
    }
    const invalidNote = invalid > 0 ? `; ${invalid} of ${rounds.length} rounds had a run failing the validity rule and were not judged` : '';
    if (!enoughRounds(ratios.length, rounds.length)) {
      conclusive = false;
      details.push(`${policy}: ${ratios.length} of ${rounds.length} rounds at ${load} req/s could be compared with linux-default, fewer than half: inconclusive${invalidNote}`);
      continue;
    }
    const spread = quartiles(ratios);
    medians.push(spread.median);
    details.push(`${policy}: GET p99 ${ratioSpread(spread)} lower than linux-default at ${load} req/s${invalidNote}`);
  }
  const measuredRatio = conclusive ? round2(Math.min(...medians)) : null;
  return { target: experiment.target, measuredRatio, met: measuredRatio !== null && measuredRatio >= requiredRatio, details };
}

export const round2 = (x: number): number => Math.round(x * 100) / 100;

/** The highest offered load at which `policy`'s run is valid with GET p99 within the bound (0 if none). Give it one round's runs. */
export function sustainedLoad(points: readonly RunRecord[], policy: string, boundUs = GET_P99_BOUND_US): number {
  return Math.max(0, ...points.filter((p) => p.policy === policy && p.valid && p.getP99Us !== null && p.getP99Us <= boundUs).map((p) => p.offeredRps));
}

/**
 * get-only: per round, the highest load each policy sustains (valid, GET p99 <= 1 ms) in that
 * round's sweep, and round-robin's over linux-default's; judged on the median of those ratios.
 */
export function getOnlyVerdict(experiment: SweepExperiment, runs: readonly RunRecord[], requiredRatio = 1.5): Verdict {
  const rounds = roundsOf(runs);
  const highest = Math.max(...runs.map((p) => p.offeredRps));
  const ratios: number[] = [];
  const linux: number[] = [];
  const roundRobin: number[] = [];
  let linuxNone = 0;
  let roundRobinTop = 0;
  for (const round of rounds) {
    const inRound = runs.filter((r) => r.repeat === round);
    const l = sustainedLoad(inRound, 'linux-default');
    const r = sustainedLoad(inRound, 'round-robin');
    linux.push(l);
    roundRobin.push(r);
    if (r === highest) roundRobinTop++;
    if (l === 0) linuxNone++;
    else ratios.push(r / l);
  }
  const loads = (values: readonly number[]): string => `${median(values)} req/s (median of ${values.length} rounds: ${values.join(', ')})`;
  const details = [
    `linux-default sustains ${loads(linux)} at GET p99 <= 1 ms`,
    `round-robin sustains ${loads(roundRobin)} at GET p99 <= 1 ms`,
    ...(linuxNone > 0 ? [`in ${linuxNone} of ${rounds.length} rounds linux-default sustains none of the swept loads, so those rounds have no ratio (sweep lower loads)`] : []),
    ...(roundRobinTop > 0 ? [`in ${roundRobinTop} of ${rounds.length} rounds round-robin sustains the highest swept load, so its limit (and the ratio) may be higher`] : []),
  ];
  if (!enoughRounds(ratios.length, rounds.length)) {
    details.push(`only ${ratios.length} of ${rounds.length} rounds have a ratio, fewer than half: inconclusive`);
    return { target: experiment.target, measuredRatio: null, met: false, details };
  }
  const spread = quartiles(ratios);
  details.push(`round-robin over linux-default: ${ratioSpread(spread)}`);
  const measuredRatio = round2(spread.median);
  return { target: experiment.target, measuredRatio, met: measuredRatio >= requiredRatio, details };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

/**
 * token-qos at 1.2 S, judged round by round (each round ran both policies side by side) and
 * then on the medians over the rounds: round-robin's LS GET p99 over token-qos's (at least
 * `minP99Ratio`), the share of LS requests token-qos dropped (at most `lsMaxDropped`), and the
 * BE user's achieved rate under token-qos over the spare token rate, tokens (0.9 S) minus what
 * LS used (at least `beMinSpareShare`). The validity rule does not apply: round-robin is
 * overloaded by design, so p99s are over answered requests and drops are reported.
 */
export function tokenQosVerdict(experiment: TokenQosExperiment, comparisonRuns: readonly RunRecord[], saturationRps: number, rounds: number): Verdict {
  const ls = String(experiment.lsUser);
  const be = String(experiment.beUser);
  const inRound = (policy: string, round: number): RunRecord | undefined =>
    comparisonRuns.find((r) => r.policy === policy && r.round === round && r.users?.[ls] !== undefined && r.users[be] !== undefined);
  const ratios: number[] = [];
  const lsDropped: number[] = [];
  const beShares: number[] = [];
  const tokenRate = experiment.tokenShare * saturationRps;
  for (let round = 0; round < rounds; round++) {
    const qos = inRound('token-qos', round);
    const rr = inRound('round-robin', round);
    if (qos === undefined || rr === undefined) continue;
    const qosLs = qos.users![ls]!;
    const rrLs = rr.users![ls]!;
    // A user with nothing answered has no p99: the round cannot be compared.
    if (qosLs.count === qosLs.dropped || rrLs.count === rrLs.dropped || qosLs.p99Us <= 0) continue;
    ratios.push(rrLs.p99Us / qosLs.p99Us);
    lsDropped.push(qosLs.count === 0 ? 1 : qosLs.dropped / qosLs.count);
    const spare = tokenRate - qosLs.achievedRps;
    beShares.push(spare > 0 ? qos.users![be]!.achievedRps / spare : 0);
  }
  if (!enoughRounds(ratios.length, rounds)) {
    return {
      target: experiment.target,
      measuredRatio: null,
      met: false,
      details: [`only ${ratios.length} of ${rounds} rounds have both policies with answered LS requests, fewer than half: inconclusive`],
    };
  }
  const ratio = quartiles(ratios);
  const dropped = median(lsDropped);
  const beShare = median(beShares);
  const rrRuns = comparisonRuns.filter((r) => r.policy === 'round-robin' && r.users?.[ls] !== undefined);
  const rrDropped = median(rrRuns.map((r) => (r.users![ls]!.count === 0 ? 0 : r.users![ls]!.dropped / r.users![ls]!.count)));
  const details = [
    `S = ${saturationRps} req/s; offered ${Math.round(experiment.overload * saturationRps)} req/s (LS ${Math.round(experiment.lsShare * saturationRps)}, BE ${Math.round(experiment.beShare * saturationRps)}), tokens ${Math.round(tokenRate)}/s`,
    `round-robin's LS GET p99 over token-qos's: ${ratioSpread(ratio)}`,
    `token-qos: ${pct(dropped)} of LS dropped (median over rounds; per round ${lsDropped.map(pct).join(', ')}); round-robin dropped ${pct(rrDropped)} of LS`,
    `token-qos: BE served ${Math.round(beShare * 100)}% of the spare token rate (median over rounds; per round ${beShares.map((x) => `${Math.round(x * 100)}%`).join(', ')})`,
  ];
  const met = ratio.median >= experiment.minP99Ratio && dropped <= experiment.lsMaxDropped && beShare >= experiment.beMinSpareShare;
  return { target: experiment.target, measuredRatio: round2(ratio.median), met, details };
}

/** A MICA run sustains its load: valid (98% achieved, <= 0.1% dropped) and GET p99 within the bound (5 ms). */
export function micaSustains(run: RunRecord, boundUs: number): boolean {
  return judgeRun(run.offeredRps, run.achievedRps, run.dropped, run.requests).valid && run.getP99Us !== null && run.getP99Us <= boundUs;
}

/**
 * A run that fell short only because the load generator could not keep its schedule: it fell
 * behind, and with latency counted from its actual sends (which leaves its own lateness out)
 * the run sustained its load. A run that drops requests or exceeds the bound even from the
 * actual sends fell short on the server's account.
 */
export function shortByGenerator(run: RunRecord, boundUs: number): boolean {
  if (micaSustains(run, boundUs) || !run.loadgen.schedule.fellBehind) return false;
  return micaSustains({ ...run, getP99Us: run.getP99FromSendUs }, boundUs);
}

/** The highest offered load `runs` (one configuration's sweep) sustained; 0 when none. */
export function micaSaturation(runs: readonly RunRecord[], boundUs: number): number {
  return Math.max(0, ...runs.filter((r) => micaSustains(r, boundUs)).map((r) => r.offeredRps));
}

/**
 * mica: per round and workload, Syrup's saturation throughput over MICA's own way's (both
 * swept in that round); judged on the median of the per-round ratios, which must reach
 * `minRatio` on every workload. A round where MICA's own way sustained nothing has no ratio. A
 * workload is inconclusive when most of the runs that fell short are the load generator's (see
 * `shortByGenerator`): the saturations found are then the generator's as much as the server's.
 */
export function micaVerdict(experiment: MicaExperiment, runs: readonly RunRecord[], rounds: number): Verdict {
  const details: string[] = [];
  const medians: number[] = [];
  let conclusive = true;
  for (const workload of experiment.workloads) {
    const ratios: number[] = [];
    const syrup: number[] = [];
    const mica: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const sweep = (label: string): RunRecord[] => runs.filter((r) => r.workload === workload.name && r.policy === label && r.repeat === round);
      const s = micaSaturation(sweep('syrup key-hash'), experiment.p99BoundUs);
      const m = micaSaturation(sweep('mica handoff'), experiment.p99BoundUs);
      syrup.push(s);
      mica.push(m);
      if (m > 0) ratios.push(s / m);
    }
    // The handoff's cost: worker CPU per request under MICA's own way minus under key-hash, at the loads both served in the same round.
    const costs: number[] = [];
    for (const run of runs.filter((r) => r.workload === workload.name && r.policy === 'mica handoff' && r.mica !== undefined)) {
      const pair = runs.find((r) => r.workload === workload.name && r.policy === 'syrup key-hash' && r.repeat === run.repeat && r.offeredRps === run.offeredRps);
      if (pair?.mica !== undefined && micaSustains(run, experiment.p99BoundUs) && micaSustains(pair, experiment.p99BoundUs)) {
        costs.push(run.mica!.cpuUsPerRequest - pair.mica.cpuUsPerRequest);
      }
    }
    if (costs.length > 0) details.push(`${workload.name}: the handoff costs ${median(costs).toFixed(2)} us of worker CPU per request (median over ${costs.length} loads both sustained)`);
    details.push(`${workload.name}: Syrup key-hash sustains ${median(syrup)} req/s, MICA's handoff ${median(mica)} req/s (medians of ${rounds} rounds: ${syrup.join(', ')} and ${mica.join(', ')})`);
    if (!enoughRounds(ratios.length, rounds)) {
      conclusive = false;
      details.push(`${workload.name}: only ${ratios.length} of ${rounds} rounds have a ratio (MICA's handoff sustained none of the loads in the others), fewer than half: inconclusive`);
      continue;
    }
    const spread = quartiles(ratios);
    details.push(`${workload.name}: Syrup over MICA's own way ${ratioSpread(spread)}`);
    // The loads that fell short set the saturations: if most of them fell short on the load generator's account, they are its limit, not the server's.
    const short = runs.filter((r) => r.workload === workload.name && !micaSustains(r, experiment.p99BoundUs));
    const behind = short.filter((r) => r.loadgen.schedule.fellBehind).length;
    const generators = short.filter((r) => shortByGenerator(r, experiment.p99BoundUs)).length;
    if (generators * 2 > short.length) {
      conclusive = false;
      details.push(
        `${workload.name}: ${generators} of the ${short.length} runs that fell short did so only by the load generator's lateness (it fell behind its schedule, and measured from its actual sends the run sustained its load), so the saturations are its limit as much as the server's: inconclusive`,
      );
      continue;
    }
    if (behind > 0) {
      details.push(`${workload.name}: the load generator fell behind its schedule in ${behind} of the ${short.length} runs that fell short; ${generators} of them fell short only by its lateness`);
    }
    medians.push(spread.median);
  }
  const measuredRatio = conclusive && medians.length > 0 ? round2(Math.min(...medians)) : null;
  return { target: experiment.target, measuredRatio, met: measuredRatio !== null && measuredRatio >= experiment.minRatio, details };
}
