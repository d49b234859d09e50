import type { CrossLayerExperiment } from './experiments.js';
import { median } from './median.js';
import { quartiles } from './quartiles.js';
import type { RunRecord } from './run-record.js';
import { enoughRounds, ratioSpread, round2, roundsOf, type Verdict } from './verdicts.js';

/**
 * Per round at the experiment's target load, how many times lower `configuration` keeps GET
 * p99 than `than` does (`than`'s p99 over `configuration`'s), for the rounds where both runs
 * are valid and measured a GET p99; and how many rounds had a run failing the validity rule.
 */
export function perRoundRatios(runs: readonly RunRecord[], load: number, than: string, configuration: string): { ratios: number[]; invalid: number; rounds: number } {
  const atLoad = runs.filter((r) => r.offeredRps === load);
  const rounds = roundsOf(atLoad);
  const at = (name: string, round: number): RunRecord | undefined => atLoad.find((r) => r.policy === name && r.repeat === round);
  const ratios: number[] = [];
  let invalid = 0;
  for (const round of rounds) {
    const base = at(than, round);
    const run = at(configuration, round);
    if (base === undefined || run === undefined) continue;
    if (!base.valid || !run.valid || base.getP99Us === null || run.getP99Us === null || run.getP99Us <= 0) invalid++;
    else ratios.push(base.getP99Us / run.getP99Us);
  }
  return { ratios, invalid, rounds: rounds.length };
}

/**
 * cross-layer: at the target load, per round, the baseline's (linux-default's) GET p99 over
 * the combined configuration's (both layers) must reach `minRatio`, and each single layer's
 * over the combined one's at least 1 (both no higher than either layer alone), each judged on
 * the median of its per-round ratios over valid runs. A comparison judged on fewer than half
 * of the rounds is inconclusive, and the verdict then not met.
 */
export function crossLayerVerdict(experiment: CrossLayerExperiment, runs: readonly RunRecord[]): Verdict {
  const load = experiment.targetLoad;
  const details: string[] = [];
  const p99s = experiment.configurations.map((c) => {
    const valid = runs.filter((r) => r.policy === c.name && r.offeredRps === load && r.valid && r.getP99Us !== null).map((r) => r.getP99Us as number);
    return `${c.name} ${valid.length === 0 ? '-' : (median(valid) / 1000).toFixed(2)} ms`;
  });
  details.push(`GET p99 at ${load} req/s, median over valid rounds: ${p99s.join(', ')}`);
  const judge = (than: string, required: number, wording: string): number | null => {
    const { ratios, invalid, rounds } = perRoundRatios(runs, load, than, experiment.combined);
    const invalidNote = invalid > 0 ? `; ${invalid} of ${rounds} rounds had a run failing the validity rule and were not judged` : '';
    if (!enoughRounds(ratios.length, rounds)) {
      details.push(`${experiment.combined} against ${than}: ${ratios.length} of ${rounds} rounds could be compared, fewer than half: inconclusive${invalidNote}`);
      return null;
    }
    const spread = quartiles(ratios);
    details.push(`${experiment.combined}: GET p99 ${ratioSpread(spread)} lower than ${than} (${wording} ${required}x)${invalidNote}`);
    return spread.median;
  };
  const main = judge(experiment.baseline, experiment.minRatio, 'target at least');
  const singles = experiment.singleLayers.map((layer) => judge(layer, 1, 'no higher: at least'));
  const met = main !== null && main >= experiment.minRatio && singles.every((ratio) => ratio !== null && ratio >= 1);
  return { target: experiment.target, measuredRatio: main === null ? null : round2(main), met, details };
}
