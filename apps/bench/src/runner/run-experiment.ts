import type { Experiment, SweepExperiment } from './experiments.js';
import type { ExperimentOutcome, ExperimentPlanOptions, ExperimentProgress } from './experiment-outcome.js';
import { measureRun, type RunSettings } from './measure-run.js';
import { reportedRuns, sweepOrder } from './run-order.js';
import type { RunRecord } from './run-record.js';
import { runCrossLayer } from './cross-layer-experiment.js';
import { runMica } from './mica-experiment.js';
import { runTokenQos } from './token-qos.js';
import { getOnlyVerdict, scanMixVerdict } from './verdicts.js';

export { reportedRuns, sweepOrder } from './run-order.js';

export type { ExperimentOutcome, ExperimentPlanOptions, ExperimentProgress } from './experiment-outcome.js';

export async function runExperiment(experiment: Experiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress = {}): Promise<ExperimentOutcome> {
  switch (experiment.kind) {
    case 'sweep':
      return runSweep(experiment, plan, settings, progress);
    case 'token-qos':
      return runTokenQos(experiment, plan, settings, progress);
    case 'mica':
      return runMica(experiment, plan, settings, progress);
    case 'cross-layer':
      return runCrossLayer(experiment, plan, settings, progress);
  }
}

async function runSweep(experiment: SweepExperiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress): Promise<ExperimentOutcome> {
  const policies = plan.policies ?? experiment.policies;
  const loads = plan.loads ?? (plan.quick ? experiment.quickLoads : experiment.loads);
  const order = sweepOrder(policies, loads, plan.repeats);
  progress.onPlan?.(order.length);
  const allRuns: RunRecord[] = [];
  for (const { policy, load, repeat } of order) {
    progress.onRunStart?.(`${plan.repeats > 1 ? `round ${repeat + 1}/${plan.repeats}: ` : ''}${policy} @ ${load}/s`);
    const run = await measureRun(
      { server: experiment.server, policy, users: [{ user: 0, rate: load }], flows: experiment.flows, mix: experiment.mix, repeat },
      settings,
      progress.signal,
    );
    allRuns.push(run);
    progress.onRunDone?.(run);
  }
  const runs = reportedRuns(allRuns, policies);
  // Judged round by round on every run, not on the reported medians.
  const verdict = experiment.name === 'get-only' ? getOnlyVerdict(experiment, allRuns) : scanMixVerdict(experiment, allRuns);
  return { runs, allRuns, verdict };
}

