import type { ExperimentOutcome } from './experiment-outcome.js';
import type { MachineInfo } from './machine-info.js';
import type { RunSettings } from './measure-run.js';
import type { RunRecord } from './run-record.js';
import type { Verdict } from './verdicts.js';

// The shape of a results document: written by experiment-results.ts and printed by
// experiment-report.ts, so it is neither's.

/** The JSON document of one experiment (apps/bench/results/<experiment>.json). */
export interface ExperimentResults {
  readonly experiment: string;
  readonly description: string;
  readonly commit: string;
  /** The tree had uncommitted changes when the results were made. */
  readonly dirty: boolean;
  readonly command: string;
  readonly machine: MachineInfo;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly settings: RunSettings & { readonly repeats: number; readonly quick: boolean };
  /** The reported run of each (policy, offered load): the median of its repeats. */
  readonly runs: readonly RunRecord[];
  readonly allRuns: readonly RunRecord[];
  readonly saturation?: ExperimentOutcome['saturation'];
  readonly verdict: Verdict;
}
