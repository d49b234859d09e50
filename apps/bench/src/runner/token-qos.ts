import { capacityFromSweep, type CapacityEstimate } from './capacity.js';
import type { TokenQosExperiment } from './experiments.js';
import { ExperimentCannotProceed, measureRun, type RunSettings, type RunSpec } from './measure-run.js';
import type { ExperimentOutcome, ExperimentPlanOptions, ExperimentProgress } from './run-experiment.js';
import { medianRun, type RunRecord } from './run-record.js';
import { tokenQosVerdict } from './verdicts.js';

/**
 * The token-qos experiment in calibrated rounds (see TokenQosExperiment): a coarse capacity
 * sweep, then per round a grid sweep around it, that round's capacity, and the two users at
 * shares of it under each policy, side by side.
 */

/**
 * One way the two users are run in a round. Besides the experiment's policies, round-robin
 * also runs with the best-effort user offering only its spare share: the load token-qos
 * admits, offered without tokens. It is a reference, not part of the verdict: it shows what
 * the latency-sensitive user gets when the admitted load arrives by itself.
 */
interface Variant {
  readonly policy: string;
  readonly variant?: string;
  /** The best-effort user's offered load as a share of the round's capacity. */
  readonly beShare: number;
}

const BE_AT_SPARE = 'BE at spare share';

/** A round whose grid does not bracket the capacity extends it by this share of the coarse capacity per run... */
const GRID_EXTENSION_STEP = 0.05;
/** ...at most this many times (to 55% or 145% of the coarse capacity). */
const MAX_GRID_EXTENSION = 6;

function variantsOf(experiment: TokenQosExperiment, policies: readonly string[]): Variant[] {
  const variants: Variant[] = policies.map((policy) => ({ policy, beShare: experiment.beShare }));
  if (policies.includes('round-robin')) variants.push({ policy: 'round-robin', variant: BE_AT_SPARE, beShare: experiment.tokenShare - experiment.lsShare });
  return variants;
}

const roundTo = (value: number, step: number): number => Math.max(step, Math.round(value / step) * step);

/** The capacity sweep's traffic: both users, in the comparison's proportion, `total` req/s together. */
function sweepUsers(experiment: TokenQosExperiment, total: number): RunSpec['users'] {
  const ls = Math.round((total * experiment.lsShare) / (experiment.lsShare + experiment.beShare));
  return [
    { user: experiment.lsUser, rate: ls },
    { user: experiment.beUser, rate: total - ls },
  ];
}

/** The refiller's rate and buckets for a capacity. */
export function tokenSettings(experiment: TokenQosExperiment, capacityRps: number): { tokenRate: number; tokenBurst: number; tokenBestEffortBurst: number } {
  const tokenRate = Math.round(experiment.tokenShare * capacityRps);
  const tokens = (ms: number): number => Math.max(1, Math.round((tokenRate * ms) / 1000));
  return { tokenRate, tokenBurst: tokens(experiment.tokenBurstMs), tokenBestEffortBurst: tokens(experiment.bestEffortBurstMs) };
}

/** The grid a round sweeps: fractions of the coarse capacity, rounded to 100 req/s, ascending, distinct. */
export function roundGridLoads(fractions: readonly number[], coarseRps: number): number[] {
  return [...new Set(fractions.map((f) => roundTo(f * coarseRps, 100)))].sort((a, b) => a - b);
}


const sweepPoint = (run: RunRecord): { offeredRps: number; p99Us: number | null } => ({ offeredRps: run.offeredRps, p99Us: run.valid ? run.getP99Us : null });

/**
 * One round's capacity: runs `measure` at every grid load, then, while the sweep does not
 * bracket the capacity (the host got noisier or quieter since the coarse sweep, and the whole
 * grid landed on one side of the bound), one more load a step beyond its low or high end, at
 * most MAX_GRID_EXTENSION times.
 */
export async function calibrateRound(
  grid: readonly number[],
  step: number,
  boundUs: number,
  measure: (load: number, extended: boolean) => Promise<RunRecord>,
): Promise<{ runs: RunRecord[]; estimate: CapacityEstimate }> {
  const runs: RunRecord[] = [];
  for (const load of grid) runs.push(await measure(load, false));
  let estimate = capacityFromSweep(runs.map(sweepPoint), boundUs);
  for (let extra = 0; extra < MAX_GRID_EXTENSION && estimate.bracket !== 'crossing'; extra++) {
    const loads = runs.map((r) => r.offeredRps);
    const load = estimate.bracket === 'none-within' ? Math.min(...loads) - step : Math.max(...loads) + step;
    if (load <= 0) break;
    runs.push(await measure(load, true));
    estimate = capacityFromSweep(runs.map(sweepPoint), boundUs);
  }
  return { runs, estimate };
}

export async function runTokenQos(experiment: TokenQosExperiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress): Promise<ExperimentOutcome> {
  const coarseLoads = plan.loads ?? (plan.quick ? experiment.quickCapacityLoads : experiment.capacityLoads);
  const fractions = plan.quick ? experiment.quickRoundGrid : experiment.roundGrid;
  const variants = variantsOf(experiment, plan.policies ?? experiment.policies);
  const rounds = plan.repeats;
  const perRound = fractions.length + variants.length;
  progress.onPlan?.(coarseLoads.length + rounds * perRound);
  const bound = experiment.capacityP99BoundUs;
  const sweepRun = async (total: number, repeat: number, label: string): Promise<RunRecord> => {
    progress.onRunStart?.(label);
    const run = await measureRun(
      { server: experiment.server, policy: experiment.capacityPolicy, users: sweepUsers(experiment, total), flows: experiment.flows, mix: experiment.mix, repeat },
      settings,
      progress.signal,
    );
    progress.onRunDone?.(run);
    return run;
  };

  // Coarse sweep: one run per load, up to the second load over the bound.
  const coarseRuns: RunRecord[] = [];
  let over = 0;
  for (const load of coarseLoads) {
    const run = await sweepRun(load, 0, `capacity (coarse): ${experiment.capacityPolicy} @ ${load}/s`);
    coarseRuns.push(run);
    const point = sweepPoint(run);
    if (point.p99Us === null || point.p99Us > bound) {
      if (++over === 2) break;
    } else {
      over = 0;
    }
  }
  const coarse = capacityFromSweep(coarseRuns.map(sweepPoint), bound);
  if (coarse.rps === 0) {
    throw new ExperimentCannotProceed(
      `the server kept ${experiment.capacityPolicy}'s GET p99 within ${bound} us at none of the coarse capacity loads (${coarseLoads.join(', ')} req/s), so there is no capacity to take shares of: the machine is too noisy right now (or the server too slow); try again later or pass lower --loads`,
    );
  }
  let planned = coarseRuns.length + rounds * perRound;
  progress.onPlan?.(planned);

  // Calibrated rounds.
  const grid = roundGridLoads(fractions, coarse.rps);
  const extensionStep = roundTo(GRID_EXTENSION_STEP * coarse.rps, 100);
  const gridRuns: RunRecord[] = [];
  const comparisonRuns: RunRecord[] = [];
  const roundCapacities: Array<NonNullable<ExperimentOutcome['capacity']>['rounds'][number]> = [];
  for (let round = 0; round < rounds; round++) {
    const { runs: sweep, estimate } = await calibrateRound(grid, extensionStep, bound, async (load, extended) => {
      if (extended) progress.onPlan?.(++planned);
      const label = `round ${round + 1}/${rounds}, capacity${extended ? ' (grid extended)' : ''}: ${experiment.capacityPolicy} @ ${load}/s`;
      return { ...(await sweepRun(load, round, label)), round };
    });
    gridRuns.push(...sweep);
    if (estimate.rps === 0) {
      roundCapacities.push({ round, rps: 0, bracket: estimate.bracket });
      continue;
    }
    const tokens = tokenSettings(experiment, estimate.rps);
    roundCapacities.push({ round, rps: estimate.rps, bracket: estimate.bracket, ...tokens });
    const lsRate = Math.round(experiment.lsShare * estimate.rps);
    for (let i = 0; i < variants.length; i++) {
      // Rotated per round, so no variant always runs right after the sweep.
      const variant = variants[(i + round) % variants.length]!;
      const beRate = Math.round(variant.beShare * estimate.rps);
      progress.onRunStart?.(`round ${round + 1}/${rounds}: ${variant.policy}${variant.variant === undefined ? '' : ` (${variant.variant})`}, LS ${lsRate}/s + BE ${beRate}/s`);
      const run = await measureRun(
        {
          server: experiment.server,
          policy: variant.policy,
          serverOptions: variant.policy === 'token-qos' ? { ...tokens, lsUser: experiment.lsUser, beUsers: [experiment.beUser] } : {},
          users: [
            { user: experiment.lsUser, rate: lsRate },
            { user: experiment.beUser, rate: beRate },
          ],
          flows: experiment.flows,
          mix: experiment.mix,
          repeat: round,
        },
        settings,
        progress.signal,
      );
      progress.onRunDone?.(run);
      comparisonRuns.push({ ...run, round, capacityRps: estimate.rps, ...(variant.variant === undefined ? {} : { variant: variant.variant }) });
    }
  }

  // Each variant's reported run: its median round by the latency-sensitive user's p99.
  const lsP99 = (run: RunRecord): number => run.users?.[String(experiment.lsUser)]?.p99Us ?? Infinity;
  const reported = variants
    .map((v) => comparisonRuns.filter((r) => r.policy === v.policy && r.variant === v.variant))
    .filter((runs) => runs.length > 0)
    .map((runs) => medianRun(runs, lsP99));
  const gridMedians = [...new Set(gridRuns.map((r) => r.offeredRps))].sort((a, b) => a - b).map((load) => medianRun(gridRuns.filter((r) => r.offeredRps === load)));
  const capacities = roundCapacities
    .map((r) => r.rps)
    .filter((rps) => rps > 0)
    .sort((a, b) => a - b);
  return {
    runs: reported,
    allRuns: [...coarseRuns, ...gridRuns, ...comparisonRuns],
    verdict: tokenQosVerdict(experiment, comparisonRuns, roundCapacities),
    capacity: {
      policy: experiment.capacityPolicy,
      rps: capacities[Math.floor((capacities.length - 1) / 2)] ?? 0,
      criterion:
        `per round, where its sweep of ${experiment.capacityPolicy}'s GET p99 crosses ${bound} us: split where the fewest runs disagree, ` +
        'interpolated between the loads around it (an invalid run counts as over)',
      runs: gridMedians,
      coarseRuns,
      coarseRps: coarse.rps,
      rounds: roundCapacities,
    },
  };
}
