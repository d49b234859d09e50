import { quartiles } from './quartiles.js';
import { medianRun, type RunRecord } from './run-record.js';

/**
 * The order of a sweep's runs, in interleaved rounds: for each round (`repeat`), each load,
 * every policy side by side, so a round's policies meet the same host noise and a ratio
 * between them is taken within a round; the policy order is rotated
 * from point to point so no policy always runs first (or right after a noisy neighbour's burst).
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

/**
 * Groups runs by (policy, load) and keeps each point's median run with the GET p99 spread over
 * its rounds, sorted by load then policy order.
 */
export function reportedRuns(runs: readonly RunRecord[], policies: readonly string[]): RunRecord[] {
  const points = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = `${run.policy}@${run.offeredRps}`;
    points.set(key, [...(points.get(key) ?? []), run]);
  }
  return [...points.values()]
    .map((group) => {
      const p99s = group.flatMap((r) => (r.getP99Us === null ? [] : [r.getP99Us]));
      return { ...medianRun(group), ...(p99s.length === 0 ? {} : { getP99Spread: quartiles(p99s) }) };
    })
    .sort((a, b) => a.offeredRps - b.offeredRps || policies.indexOf(a.policy) - policies.indexOf(b.policy));
}

