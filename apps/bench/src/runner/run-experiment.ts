import type { Experiment, SweepExperiment, TokenQosExperiment } from './experiments.js';
import { measureRun, type RunSettings, type RunSpec } from './measure-run.js';
import { medianRun, type RunRecord } from './run-record.js';
import { getOnlyVerdict, scanMixVerdict, tokenQosVerdict, type Verdict } from './verdicts.js';

export interface ExperimentPlanOptions {
  readonly quick: boolean;
  readonly repeats: number;
  /** Overrides the experiment's loads (sweeps) or capacity loads (token-qos). */
  readonly loads?: readonly number[];
  /** Overrides the experiment's policies. */
  readonly policies?: readonly string[];
}

export interface ExperimentProgress {
  /** Called once the number of runs is known (token-qos learns its second phase's size later). */
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
  /** token-qos: the capacity phase's reported runs and the capacity found. */
  readonly capacity?: {
    readonly policy: string;
    readonly rps: number;
    readonly criterion: string;
    readonly runs: readonly RunRecord[];
    /** The refiller's settings under token-qos: tokens per second and bucket size. */
    readonly tokenRate?: number;
    readonly tokenBurst?: number;
  };
}

/**
 * The order of a sweep's runs: for each repeat, each load, every policy side by side, with
 * the policy order rotated from point to point so no policy always runs first (or right after
 * a noisy neighbour's burst) on a shared machine.
 */
export function sweepOrder(policies: readonly string[], loads: readonly number[], repeats: number): Array<{ policy: string; load: number; repeat: number }> {
  const order: Array<{ policy: string; load: number; repeat: number }> = [];
  let rotation = 0;
  for (let repeat = 0; repeat < repeats; repeat++) {
    for (const load of loads) {
      for (let i = 0; i < policies.length; i++) order.push({ policy: policies[(i + rotation) % policies.length]!, load, repeat });
      rotation++;
    }
  }
  return order;
}

/** Groups runs by (policy, load) and keeps each point's median run, in the order points first appear, sorted by load then policy order. */
export function reportedRuns(runs: readonly RunRecord[], policies: readonly string[], median: (runs: readonly RunRecord[]) => RunRecord = medianRun): RunRecord[] {
  const points = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = `${run.policy}@${run.offeredRps}`;
    points.set(key, [...(points.get(key) ?? []), run]);
  }
  return [...points.values()]
    .map((group) => median(group))
    .sort((a, b) => a.offeredRps - b.offeredRps || policies.indexOf(a.policy) - policies.indexOf(b.policy));
}

export async function runExperiment(experiment: Experiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress = {}): Promise<ExperimentOutcome> {
  return experiment.kind === 'sweep' ? runSweep(experiment, plan, settings, progress) : runTokenQos(experiment, plan, settings, progress);
}

async function runSweep(experiment: SweepExperiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress): Promise<ExperimentOutcome> {
  const policies = plan.policies ?? experiment.policies;
  const loads = plan.loads ?? (plan.quick ? experiment.quickLoads : experiment.loads);
  const order = sweepOrder(policies, loads, plan.repeats);
  progress.onPlan?.(order.length);
  const allRuns: RunRecord[] = [];
  for (const { policy, load, repeat } of order) {
    progress.onRunStart?.(`${policy} @ ${load}/s${plan.repeats > 1 ? ` #${repeat + 1}` : ''}`);
    const run = await measureRun(
      { server: experiment.server, policy, users: [{ user: 0, rate: load }], flows: experiment.flows, mix: experiment.mix, repeat },
      settings,
      progress.signal,
    );
    allRuns.push(run);
    progress.onRunDone?.(run);
  }
  const runs = reportedRuns(allRuns, policies);
  const verdict = experiment.name === 'get-only' ? getOnlyVerdict(experiment, runs) : scanMixVerdict(experiment, runs);
  return { runs, allRuns, verdict };
}

/** token-qos runs are compared by the latency-sensitive user's p99. */
function lsMedian(lsUser: number): (runs: readonly RunRecord[]) => RunRecord {
  return (runs) => {
    const p99 = (r: RunRecord): number => r.users?.[String(lsUser)]?.p99Us ?? Infinity;
    const sorted = [...runs].sort((a, b) => p99(a) - p99(b));
    return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, repeatsOfPoint: runs.length };
  };
}

/** A capacity-sweep run counts as sustained: valid, with GET p99 within the bound. */
export function sustains(run: RunRecord, p99BoundUs: number): boolean {
  return run.valid && run.getP99Us !== null && run.getP99Us <= p99BoundUs;
}

async function runTokenQos(experiment: TokenQosExperiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress): Promise<ExperimentOutcome> {
  const capacityLoads = plan.loads ?? (plan.quick ? experiment.quickCapacityLoads : experiment.capacityLoads);
  const policies = plan.policies ?? experiment.policies;
  progress.onPlan?.((capacityLoads.length + policies.length) * plan.repeats);
  // Phase 1: capacity, the highest load the capacity policy sustains: a valid run (achieved
  // >= 98% of offered, <= 0.1% dropped) with GET p99 within the bound, judged on the median
  // of the repeats (one disturbed run must not move the capacity every share derives from).
  // The sweep stops at the second failing load in a row.
  const capacityRuns: RunRecord[] = [];
  const capacityPoints: RunRecord[] = [];
  let failures = 0;
  let capacity = 0;
  for (const load of capacityLoads) {
    const repeats: RunRecord[] = [];
    for (let repeat = 0; repeat < plan.repeats; repeat++) {
      progress.onRunStart?.(`capacity: ${experiment.capacityPolicy} @ ${load}/s${plan.repeats > 1 ? ` #${repeat + 1}` : ''}`);
      const run = await measureRun(
        { server: experiment.server, policy: experiment.capacityPolicy, users: [{ user: 0, rate: load }], flows: experiment.flows, mix: experiment.mix, repeat },
        settings,
        progress.signal,
      );
      repeats.push(run);
      capacityRuns.push(run);
      progress.onRunDone?.(run);
    }
    const point = medianRun(repeats);
    capacityPoints.push(point);
    if (sustains(point, experiment.capacityP99BoundUs)) {
      capacity = Math.max(capacity, load);
      failures = 0;
    } else if (++failures === 2) {
      break;
    }
  }
  if (capacity === 0) {
    throw new Error(`the server sustained none of the capacity loads (${capacityLoads.join(', ')} req/s) under ${experiment.capacityPolicy} with GET p99 <= ${experiment.capacityP99BoundUs} us`);
  }
  progress.onPlan?.(capacityRuns.length + policies.length * plan.repeats);
  // Phase 2: the two users against each policy, side by side, rotated per repeat.
  const lsRate = Math.round(experiment.lsShare * capacity);
  const beRate = Math.round(experiment.beShare * capacity);
  const tokenRate = Math.round(experiment.tokenShare * capacity);
  const tokenBurst = Math.max(1, Math.round((tokenRate * experiment.tokenBurstMs) / 1000));
  const allRuns: RunRecord[] = [];
  for (const { policy, repeat } of sweepOrder(policies, [lsRate + beRate], plan.repeats)) {
    progress.onRunStart?.(`${policy}: LS ${lsRate}/s + BE ${beRate}/s${plan.repeats > 1 ? ` #${repeat + 1}` : ''}`);
    const spec: RunSpec = {
      server: experiment.server,
      policy,
      serverOptions: policy === 'token-qos' ? { tokenRate, tokenBurst, lsUser: experiment.lsUser, beUsers: [experiment.beUser] } : {},
      users: [
        { user: experiment.lsUser, rate: lsRate },
        { user: experiment.beUser, rate: beRate },
      ],
      flows: experiment.flows,
      mix: experiment.mix,
      repeat,
    };
    const run = await measureRun(spec, settings, progress.signal);
    allRuns.push(run);
    progress.onRunDone?.(run);
  }
  const runs = reportedRuns(allRuns, policies, lsMedian(experiment.lsUser));
  return {
    runs,
    allRuns: [...capacityRuns, ...allRuns],
    verdict: tokenQosVerdict(experiment, capacity, runs),
    capacity: { policy: experiment.capacityPolicy, rps: capacity, criterion: `highest offered load whose median run is valid with GET p99 <= ${experiment.capacityP99BoundUs} us`, runs: capacityPoints, tokenRate, tokenBurst },
  };
}
