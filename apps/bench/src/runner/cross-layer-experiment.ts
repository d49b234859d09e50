import { crossLayerVerdict } from './cross-layer-verdict.js';
import type { CrossLayerExperiment, LayerConfiguration } from './experiments.js';
import { ExperimentCannotProceed, measureRun, type RunSettings } from './measure-run.js';
import type { ExperimentOutcome, ExperimentPlanOptions, ExperimentProgress } from './experiment-outcome.js';
import { reportedRuns, sweepOrder } from './run-order.js';
import type { RunRecord } from './run-record.js';

/** The configurations `--policies` names (all of the experiment's without it), in the experiment's order. */
export function selectConfigurations(experiment: CrossLayerExperiment, names: readonly string[] | undefined): LayerConfiguration[] {
  if (names === undefined) return [...experiment.configurations];
  const unknown = names.filter((name) => !experiment.configurations.some((c) => c.name === name));
  if (unknown.length > 0) {
    throw new ExperimentCannotProceed(`${unknown.join(', ')} is not a configuration of ${experiment.name} (${experiment.configurations.map((c) => c.name).join(', ')})`);
  }
  return experiment.configurations.filter((c) => names.includes(c.name));
}

/**
 * cross-layer: every configuration at every load, side by side in interleaved rounds (the
 * sweep's order), each run a fresh server with the configuration's socket-layer policy and
 * thread policy, the load generator in a session of its own; the runs carry the
 * configuration's name.
 */
export async function runCrossLayer(experiment: CrossLayerExperiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress): Promise<ExperimentOutcome> {
  const configurations = selectConfigurations(experiment, plan.policies);
  const names = configurations.map((c) => c.name);
  const loads = plan.loads ?? (plan.quick ? experiment.quickLoads : experiment.loads);
  const order = sweepOrder(names, loads, plan.repeats);
  progress.onPlan?.(order.length);
  const allRuns: RunRecord[] = [];
  for (const { policy: name, load, repeat } of order) {
    const configuration = configurations.find((c) => c.name === name)!;
    progress.onRunStart?.(`${plan.repeats > 1 ? `round ${repeat + 1}/${plan.repeats}: ` : ''}${name} @ ${load}/s`);
    const run = await measureRun(
      {
        server: experiment.server,
        policy: configuration.policy,
        ...(configuration.threadPolicy === undefined ? {} : { serverOptions: { threadPolicy: configuration.threadPolicy } }),
        label: name,
        users: [{ user: 0, rate: load }],
        flows: experiment.flows,
        mix: experiment.mix,
        repeat,
        // A deferred worker is SCHED_IDLE: in the load generator's autogroup it would get almost no CPU weight against other sessions' work.
        loadgenInOwnSession: true,
      },
      settings,
      progress.signal,
    );
    allRuns.push(run);
    progress.onRunDone?.(run);
  }
  return { runs: reportedRuns(allRuns, names), allRuns, verdict: crossLayerVerdict(experiment, allRuns) };
}
