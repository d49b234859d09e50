import type { RunRecord } from './run-record.js';

const ms = (us: number | null | undefined): string => (us === null || us === undefined ? '-' : us >= 100_000 ? (us / 1000).toFixed(0) : us >= 10_000 ? (us / 1000).toFixed(1) : (us / 1000).toFixed(2));

/**
 * The plain-text table of reported runs: one row per (policy, offered load); latencies in ms.
 * Points measured in several rounds show their median run and, in `p99 IQR`, the spread of
 * GET p99 over the rounds (first to third quartile).
 * Runs failing the validity rule are marked "NO" with the reason below the table; runs the
 * rule does not apply to (token-qos's comparison at overload, where drops are expected) are marked "n/a".
 */
export function formatResultsTable(runs: readonly RunRecord[], options: { validityApplies?: (run: RunRecord) => boolean } = {}): string {
  const applies = options.validityApplies ?? (() => true);
  const withUsers = runs.some((r) => r.users !== undefined);
  const withSpread = runs.some((r) => (r.getP99Spread?.count ?? 0) > 1);
  const header = ['policy', 'offered/s', 'achieved/s', 'GET p50', 'GET p99', ...(withSpread ? ['p99 IQR'] : []), 'GET p99.9', 'SCAN p99', 'dropped', 'valid'];
  if (withUsers) header.push('per user: offered/s achieved/s p99 dropped');
  const rows = runs.map((r) => {
    const row = [
      r.workload === undefined ? r.policy : `${r.policy} [${r.workload}]`,
      String(Math.round(r.offeredRps)),
      String(Math.round(r.achievedRps)),
      ms(r.getP50Us),
      // The median over the rounds (with an even count of rounds, between the two middle runs).
      ms(r.getP99Spread?.median ?? r.getP99Us),
      ...(withSpread ? [r.getP99Spread === undefined ? '-' : `${ms(r.getP99Spread.q1)}-${ms(r.getP99Spread.q3)}`] : []),
      ms(r.getP999Us),
      ms(r.scanP99Us),
      r.requests > 0 ? `${r.dropped} (${((100 * r.dropped) / r.requests).toFixed(2)}%)` : String(r.dropped),
      applies(r) ? (r.valid ? 'yes' : 'NO') : 'n/a',
    ];
    if (withUsers) {
      row.push(
        Object.entries(r.users ?? {})
          .map(([id, u]) => `user ${id}: ${Math.round(u.offeredRps)} ${Math.round(u.achievedRps)} ${ms(u.p99Us)}ms ${u.count > 0 ? ((100 * u.dropped) / u.count).toFixed(1) : '0'}%`)
          .join(' | '),
      );
    }
    return row;
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  const out = [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const rounds = Math.max(0, ...runs.map((r) => r.getP99Spread?.count ?? 0));
  const spreadNote = withSpread ? `; each row is the median of up to ${rounds} rounds, p99 IQR the middle half of their GET p99s` : '';
  out.push(`(latencies in ms; valid = achieved >= 98% of offered and <= 0.1% dropped${spreadNote})`);
  for (const r of runs) if (applies(r) && !r.valid && r.invalidReason !== undefined) out.push(`  ${r.policy} at ${Math.round(r.offeredRps)}/s: ${r.invalidReason}`);
  const behind = runs.filter((r) => r.loadgen.schedule.fellBehind);
  if (behind.length > 0) {
    const worstLateMs = Math.max(...behind.map((r) => r.loadgen.schedule.p99LatenessUs)) / 1000;
    const worstWaitS = Math.max(0, ...behind.map((r) => r.loadgen.runQueueWaitMs ?? 0)) / 1000;
    out.push(
      `note: the load generator fell behind its schedule in ${behind.length} of ${runs.length} runs (p99 lateness up to ${worstLateMs.toFixed(1)} ms; ` +
        `its CPU was taken by other processes for up to ${worstWaitS.toFixed(1)} s of a run), so those latencies include that delay: measure on a quiet machine.`,
    );
  }
  return out.join('\n');
}
