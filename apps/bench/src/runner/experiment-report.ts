import { formatAgentCpu } from './agent-cpu.js';
import type { ExperimentResults } from './experiment-document.js';
import { formatHostSteal } from './host-steal.js';
import { formatResultsTable } from './results-table.js';

/**
 * The printed report of one experiment, as on stdout and in `<experiment>.txt`: the setup,
 * the tables, the host's steal, the target with its findings, and last the verdict line,
 * `verdict: MET (...)` or `verdict: NOT MET (...)`.
 */
export function experimentReport(results: ExperimentResults): string {
  const { settings, saturation } = results;
  const lines = [
    `== ${results.experiment}: ${results.description}`,
    `   loadgen on CPU ${settings.loadgenCpu}, server on CPUs ${settings.serverCpus ?? 'all'}; ${settings.durationS} s per run after ${settings.warmupS} s warm-up, ${settings.repeats} interleaved round(s)`,
    `   commit ${results.commit}${results.dirty ? ' (with uncommitted changes)' : ''}; ${results.command}`,
    '',
  ];
  if (saturation !== undefined) {
    lines.push(`saturation sweep (${saturation.policy}, both users in the comparison's proportion, one run per load):`, formatResultsTable(saturation.runs, { validityApplies: () => false }));
    lines.push(`S = ${saturation.rps} req/s (${saturation.criterion})`, '');
    lines.push(
      `comparison at ${saturation.overloadRps} req/s offered (1.2 S), tokens ${saturation.tokenRate}/s, buckets LS ${saturation.tokenBurst} BE ${saturation.tokenBestEffortBurst}; ` +
        "validity rule off (round-robin is overloaded by design): p99 over answered requests, drops reported; each policy's median round by the LS user's p99:",
    );
  }
  lines.push(formatResultsTable(results.runs, { validityApplies: () => saturation === undefined }));
  const mica = results.runs.filter((r) => r.mica !== undefined);
  if (mica.length > 0) {
    lines.push("server threads per run (median round; each worker's CPU share, then the main thread's, over the load generator's run from start-up to grace; handoffs and the deepest handoff queue; requests dropped by the workers and by each socket in the kernel, and replies by the load generator's socket; each CPU's busy share):");
    for (const r of mica) {
      const m = r.mica!;
      lines.push(
        `  ${r.policy} [${r.workload ?? ''}] @ ${Math.round(r.offeredRps)}/s: workers ${m.cpuShare.map((x) => `${Math.round(x * 100)}%`).join(', ')}, main ${Math.round(m.mainCpuShare * 100)}%; ` +
          `${m.cpuUsPerRequest} us of worker CPU per request; ${m.handedOff} handed off, queue depth up to ${m.handoffHighWater}` +
          (m.socketDropped === undefined ? '' : `; dropped by workers ${m.dropped}, by the sockets ${m.socketDropped.join('+')}`) +
          (r.loadgen.transportDrops === undefined ? '' : `, by the generator's socket ${r.loadgen.transportDrops}`) +
          (m.cpuBusy === undefined ? '' : `; CPUs busy ${m.cpuBusy.map((x) => `${Math.round(x * 100)}%`).join(', ')}`),
      );
    }
  }
  const agentCpu = formatAgentCpu(results.allRuns);
  if (agentCpu !== undefined) lines.push(agentCpu);
  lines.push(formatHostSteal(results.allRuns) ?? 'host steal: not recorded (no steal column in /proc/stat)');
  lines.push('', `target: ${results.verdict.target}`);
  for (const detail of results.verdict.details) lines.push(`  ${detail}`);
  lines.push(`verdict: ${results.verdict.met ? 'MET' : 'NOT MET'} (measured ratio ${results.verdict.measuredRatio ?? 'n/a'})`);
  return `${lines.join('\n')}\n`;
}
