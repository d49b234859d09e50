import { median } from './median.js';
import type { RunRecord } from './run-record.js';

const percent = (share: number): string => `${(share * 100).toFixed(1)}%`;

/**
 * One line on the CPU the thread policy's agent used, per configuration and load (runs that
 * recorded `agentCpuShare`, in order of first appearance): the median share of one CPU over
 * the rounds and its range. Undefined when no run ran a thread policy.
 */
export function formatAgentCpu(runs: readonly RunRecord[]): string | undefined {
  const points = new Map<string, number[]>();
  for (const run of runs) {
    if (run.agentCpuShare === undefined) continue;
    const key = `${run.policy} @ ${Math.round(run.offeredRps)}/s`;
    points.set(key, [...(points.get(key) ?? []), run.agentCpuShare]);
  }
  if (points.size === 0) return undefined;
  const parts = [...points].map(([point, shares]) => `${point} ${percent(median(shares))} (${percent(Math.min(...shares))}-${percent(Math.max(...shares))}, ${shares.length} runs)`);
  return `agent CPU (the thread policy's agent threads in the server, share of one CPU over the load generator's run; median, range): ${parts.join('; ')}`;
}
