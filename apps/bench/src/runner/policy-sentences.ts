import { quartiles, type Quartiles } from './quartiles.js';
import type { RunRecord } from './run-record.js';

const ms = (us: number): string => (us >= 10_000 ? (us / 1000).toFixed(0) : us >= 1000 ? (us / 1000).toFixed(1) : (us / 1000).toFixed(2));

/** Ratios within this factor of 1 read as "about the same". */
const SAME = 1.05;

/** "GET p99 0.40 ms at 8000 req/s (median of 3 rounds, IQR 0.35-0.52 ms)". */
function p99Phrase(p99: Quartiles, load: number): string {
  const rounds = p99.count > 1 ? ` (median of ${p99.count} rounds, IQR ${ms(p99.q1)}-${ms(p99.q3)} ms)` : '';
  return `GET p99 ${ms(p99.median)} ms at ${load} req/s${rounds}`;
}

/**
 * One plain sentence per policy at `load`, compared with linux-default (the demo's ending),
 * from every round's runs. The comparison is the median of the per-round ratios (each round's
 * policies ran side by side), and it is stated only when the middle half of those ratios
 * (q1 to q3) falls on one side: lower, higher or about the same. When it straddles, the
 * rounds disagree, and the sentence says so instead of printing a ratio the host's noise made;
 * so it does when the load generator fell behind its schedule in a compared run.
 */
export function policySentences(runs: readonly RunRecord[], load: number): string[] {
  const at = runs.filter((r) => r.offeredRps === load);
  // linux-default first (the others are compared with it), then in the order the runs came.
  const policies = [...new Set(at.map((r) => r.policy))].sort((a, b) => Number(b === 'linux-default') - Number(a === 'linux-default'));
  const baseline = new Map(at.filter((r) => r.policy === 'linux-default').map((r) => [r.repeat, r]));
  return policies.map((policy) => {
    const mine = at.filter((r) => r.policy === policy);
    const p99s = mine.flatMap((r) => (r.getP99Us === null ? [] : [r.getP99Us]));
    if (p99s.length === 0) return `${policy}: no GET replies at ${load} req/s.`;
    const invalid = mine.filter((r) => !r.valid);
    const caveat =
      invalid.length === 0
        ? ''
        : mine.length === 1
          ? ` (this run failed the validity rule: ${invalid[0]!.invalidReason ?? 'see the table'})`
          : ` (${invalid.length} of ${mine.length} runs failed the validity rule: see the table)`;
    const head = `${policy}: ${p99Phrase(quartiles(p99s), load)}`;
    if (policy === 'linux-default') return `${head}, with no program attached (the kernel hashes each flow to a socket)${caveat}.`;
    // A load generator behind its schedule adds its own delay to every latency: no comparison is fair then.
    const behind = mine.some((r) => r.loadgen.schedule.fellBehind) || at.some((r) => r.policy === 'linux-default' && r.loadgen.schedule.fellBehind);
    if (behind) {
      return `${head}, but the load generator fell behind its schedule in these runs, so the host was too busy to compare it with linux-default (try again when it is quieter)${caveat}.`;
    }
    const ratios = mine.flatMap((run) => {
      const base = baseline.get(run.repeat)?.getP99Us;
      return base === undefined || base === null || run.getP99Us === null || run.getP99Us <= 0 ? [] : [base / run.getP99Us];
    });
    if (ratios.length === 0) return `${head}${caveat}.`;
    const spread = quartiles(ratios);
    const rounds = ratios.length > 1 ? ` (median of ${ratios.length} rounds' ratios)` : '';
    let comparison: string;
    if (spread.q1 >= SAME) comparison = `${spread.median.toFixed(spread.median >= 10 ? 0 : 1)}x lower than linux-default${rounds}`;
    else if (spread.q3 <= 1 / SAME) comparison = `${(1 / spread.median).toFixed(1)}x higher than linux-default${rounds}`;
    else if (spread.q1 > 1 / SAME && spread.q3 < SAME) comparison = 'about the same as linux-default';
    else comparison = 'but its rounds disagree too much to compare it with linux-default: the host was too noisy to conclude (try again when it is quieter)';
    return `${head}, ${comparison}${caveat}.`;
  });
}
