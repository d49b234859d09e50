import { medianRun, type RunRecord } from './run-record.js';

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
export function reportedRuns(runs: readonly RunRecord[], policies: readonly string[]): RunRecord[] {
  const points = new Map<string, RunRecord[]>();
  for (const run of runs) {
    const key = `${run.policy}@${run.offeredRps}`;
    points.set(key, [...(points.get(key) ?? []), run]);
  }
  return [...points.values()]
    .map((group) => medianRun(group))
    .sort((a, b) => a.offeredRps - b.offeredRps || policies.indexOf(a.policy) - policies.indexOf(b.policy));
}

