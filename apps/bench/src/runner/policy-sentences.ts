import type { RunRecord } from './run-record.js';

const ms = (us: number): string => (us >= 10_000 ? (us / 1000).toFixed(0) : us >= 1000 ? (us / 1000).toFixed(1) : (us / 1000).toFixed(2));

/**
 * One plain sentence per policy at `load`, compared with linux-default (the demo's ending).
 * When the load generator fell behind its schedule in any run (the results table's "measure on
 * a quiet machine" note), the latencies include that delay and no ratio is printed: each
 * policy's measurement stands alone and a last sentence says the comparison is inconclusive.
 */
export function policySentences(runs: readonly RunRecord[], load: number): string[] {
  const at = runs.filter((r) => r.offeredRps === load);
  const behind = runs.filter((r) => r.loadgen.schedule.fellBehind).length;
  if (behind > 0) {
    return [
      ...at.map((run) => (run.getP99Us === null ? `${run.policy}: no GET replies at ${load} req/s.` : `${run.policy}: GET p99 ${ms(run.getP99Us)} ms at ${load} req/s.`)),
      `The comparison is inconclusive: the load generator fell behind its schedule in ${behind} of ${runs.length} runs because the machine was too busy, so these latencies measure the machine, not the policies; run the demo again on a quiet machine.`,
    ];
  }
  const baseline = at.find((r) => r.policy === 'linux-default');
  return at.map((run) => {
    if (run.getP99Us === null) return `${run.policy}: no GET replies at ${load} req/s.`;
    const caveat = run.valid ? '' : ` (this run failed the validity rule: ${run.invalidReason ?? 'see the table'})`;
    const head = `${run.policy}: GET p99 ${ms(run.getP99Us)} ms at ${load} req/s`;
    if (run.policy === 'linux-default') return `${head}, with no program attached (the kernel hashes each flow to a socket)${caveat}.`;
    if (baseline?.getP99Us === null || baseline?.getP99Us === undefined) return `${head}${caveat}.`;
    const ratio = baseline.getP99Us / run.getP99Us;
    const comparison =
      ratio >= 1.05 ? `${ratio.toFixed(ratio >= 10 ? 0 : 1)}x lower than linux-default` : ratio <= 1 / 1.05 ? `${(1 / ratio).toFixed(1)}x higher than linux-default` : 'about the same as linux-default';
    return `${head}, ${comparison}${caveat}.`;
  });
}
