import type { RunRecord } from './run-record.js';
import type { Verdict } from './verdicts.js';

// What an experiment is asked (plan, progress) and what it answers (outcome): shared by the
// runner (run-experiment.ts) and the experiments it dispatches to (token-qos, mica,
// cross-layer), which therefore do not import the runner.

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
