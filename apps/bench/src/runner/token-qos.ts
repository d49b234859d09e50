import type { TokenQosExperiment } from './experiments.js';
import { ExperimentCannotProceed, measureRun, type RunSettings, type RunSpec } from './measure-run.js';
import { quartiles } from './quartiles.js';
import type { ExperimentOutcome, ExperimentPlanOptions, ExperimentProgress } from './experiment-outcome.js';
import { medianRun, type RunRecord } from './run-record.js';
import { keepsUp, SaturationSearch, saturationLoads, saturationSweepDone, saturationThroughput } from './saturation.js';
import { tokenQosVerdict } from './verdicts.js';

/**
 * The token-qos experiment (see TokenQosExperiment): round-robin's saturation throughput S
 * from an ascending sweep in 5% steps, then the rounds, each running every policy once at
 * 1.2 S side by side, in an order rotated per round.
 */

/** Both users in the comparison's proportion, `total` req/s together. */
function bothUsers(experiment: TokenQosExperiment, total: number): RunSpec['users'] {
  const ls = Math.round((total * experiment.lsShare) / (experiment.lsShare + experiment.beShare));
  return [
    { user: experiment.lsUser, rate: ls },
    { user: experiment.beUser, rate: total - ls },
  ];
}

/** The refiller's rate and buckets for a saturation throughput S. */
export function tokenSettings(experiment: TokenQosExperiment, saturationRps: number): { tokenRate: number; tokenBurst: number; tokenBestEffortBurst: number } {
  const tokenRate = Math.round(experiment.tokenShare * saturationRps);
  const tokens = (ms: number): number => Math.max(1, Math.round((tokenRate * ms) / 1000));
  return { tokenRate, tokenBurst: tokens(experiment.tokenBurstMs), tokenBestEffortBurst: tokens(experiment.bestEffortBurstMs) };
}

/**
 * Runs `measure` at each load in order until the sweep may stop (two loads in a row fell
 * short of 98%), and answers the runs.
 */
export async function sweepToSaturation(loads: readonly number[], measure: (load: number) => Promise<RunRecord>): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  const search = SaturationSearch.over(loads);
  for (let load = search.next(); load !== undefined; load = search.next()) {
    const run = await measure(load);
    runs.push(run);
    search.record(load, keepsUp(run));
  }
  return runs;
}

export async function runTokenQos(experiment: TokenQosExperiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress): Promise<ExperimentOutcome> {
  const loads =
    plan.loads ?? saturationLoads(plan.quick ? experiment.quickSaturationStartRps : experiment.saturationStartRps, experiment.saturationStep, experiment.maxSaturationLoads);
  const policies = plan.policies ?? experiment.policies;
  const rounds = plan.repeats;
  let planned = Math.min(loads.length, 8) + rounds * policies.length;
  progress.onPlan?.(planned);

  let swept = 0;
  const sweep = await sweepToSaturation(loads, async (load) => {
    if (++swept > 8) progress.onPlan?.(++planned);
    progress.onRunStart?.(`saturation: ${experiment.saturationPolicy} @ ${load}/s`);
    const run = await measureRun(
      { server: experiment.server, policy: experiment.saturationPolicy, users: bothUsers(experiment, load), flows: experiment.flows, mix: experiment.mix, repeat: 0 },
      settings,
      progress.signal,
    );
    progress.onRunDone?.(run);
    return run;
  });
  const saturationRps = saturationThroughput(sweep);
  if (saturationRps === 0) {
    throw new ExperimentCannotProceed(
      `${experiment.saturationPolicy} achieved 98% of the offered rate at none of the saturation sweep's loads (${sweep.map((r) => r.offeredRps).join(', ')} req/s), so there is no saturation throughput to overload: pass lower --loads`,
    );
  }
  const last = sweep.at(-1)!;
  const sweepNote = saturationSweepDone(sweep)
    ? []
    : keepsUp(last)
      ? [`the sweep ended at ${last.offeredRps} req/s with ${experiment.saturationPolicy} still keeping up, so S may be higher`]
      : [`the sweep ran out of loads after one load that fell short (${last.offeredRps} req/s), not two in a row, so S rests on that one run`];
  planned = sweep.length + rounds * policies.length;
  progress.onPlan?.(planned);

  const tokens = tokenSettings(experiment, saturationRps);
  const lsRate = Math.round(experiment.lsShare * saturationRps);
  const beRate = Math.round(experiment.beShare * saturationRps);
  const comparisonRuns: RunRecord[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < policies.length; i++) {
      // Rotated per round, so no policy always runs first.
      const policy = policies[(i + round) % policies.length]!;
      progress.onRunStart?.(`round ${round + 1}/${rounds}: ${policy}, LS ${lsRate}/s + BE ${beRate}/s`);
      const run = await measureRun(
        {
          server: experiment.server,
          policy,
          serverOptions: policy === 'token-qos' ? { ...tokens, lsUser: experiment.lsUser, beUsers: [experiment.beUser] } : {},
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
      comparisonRuns.push({ ...run, round, saturationRps });
    }
  }

  // Each policy's reported run: its median round by the LS user's p99, with each user's p99 spread over the rounds.
  const ls = String(experiment.lsUser);
  const lsP99 = (run: RunRecord): number => run.users?.[ls]?.p99Us ?? Infinity;
  const reported = policies
    .map((policy) => comparisonRuns.filter((r) => r.policy === policy))
    .filter((runs) => runs.length > 0)
    .map((runs) => {
      const users = Object.keys(runs[0]!.users ?? {});
      const userP99Spread = Object.fromEntries(
        users.flatMap((id) => {
          const p99s = runs.flatMap((r) => (r.users?.[id] === undefined || r.users[id].count === r.users[id].dropped ? [] : [r.users[id].p99Us]));
          return p99s.length === 0 ? [] : [[id, quartiles(p99s)]];
        }),
      );
      return { ...medianRun(runs, lsP99), userP99Spread };
    });
  const verdict = tokenQosVerdict(experiment, comparisonRuns, saturationRps, rounds);
  return {
    runs: reported,
    allRuns: [...sweep, ...comparisonRuns],
    verdict: { ...verdict, details: [...verdict.details, ...sweepNote] },
    saturation: {
      policy: experiment.saturationPolicy,
      rps: saturationRps,
      criterion: `the highest load of a ${Math.round(experiment.saturationStep * 100)}% step sweep at which ${experiment.saturationPolicy} achieved at least 98% of the offered rate`,
      runs: sweep,
      overloadRps: lsRate + beRate,
      ...tokens,
    },
  };
}
