import type { Experiment, SweepExperiment } from './experiments.js';
import { measureRun, type RunSettings } from './measure-run.js';
import { reportedRuns, sweepOrder } from './run-order.js';
import type { RunRecord } from './run-record.js';
import { runCrossLayer } from './cross-layer-experiment.js';
import { runMica } from './mica-experiment.js';
import { runTokenQos } from './token-qos.js';
import { getOnlyVerdict, scanMixVerdict, type Verdict } from './verdicts.js';

export { reportedRuns, sweepOrder } from './run-order.js';

export interface ExperimentPlanOptions {
  readonly quick: boolean;
  readonly repeats: number;
  /** Overrides the experiment's loads (sweeps) or the saturation sweep's loads (token-qos). */
  readonly loads?: readonly number[];
  /** Overrides the experiment's policies. */
  readonly policies?: readonly string[];
}

export interface ExperimentProgress {
  /** Called once the number of runs is known, and again when it changes (token-qos's sweep ends when it saturates). */
  onPlan?(total: number): void;
  onRunStart?(label: string): void;
  onRunDone?(run: RunRecord): void;
  readonly signal?: AbortSignal;
}

export interface ExperimentOutcome {
  /** The reported run of each point (the median of its repeats), in plan order. */
  readonly runs: readonly RunRecord[];
  /** Every run, repeats included. */
  readonly allRuns: readonly RunRecord[];
  readonly verdict: Verdict;
  /** token-qos: round-robin's saturation throughput S, the sweep behind it, and what the rounds ran at. */
  readonly saturation?: {
    readonly policy: string;
    readonly rps: number;
    readonly criterion: string;
    /** The sweep's runs, ascending, one per load. */
    readonly runs: readonly RunRecord[];
    /** The comparison's offered load (LS + BE), 1.2 S. */
    readonly overloadRps: number;
    /** The refiller's settings from S: tokens per second and bucket sizes. */
    readonly tokenRate: number;
    readonly tokenBurst: number;
    readonly tokenBestEffortBurst: number;
  };
}

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

