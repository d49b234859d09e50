/**
 * The server's capacity from a sweep of offered loads: the load at which its p99 reaches a
 * bound. On this shared 2-vCPU machine p99 does not jump at one load: host stalls of a few
 * milliseconds back the queues up, and the time to drain them grows with load, so p99 rises
 * over a range of loads and one run at one load may land on either side of the bound by
 * chance (a 1.4 ms run at 8k next to 0.6 ms at 10k has been seen here). Reading the capacity
 * off the highest load that happened to pass, or off the first that happened to fail, lets
 * one such run decide it. Instead the sweep is split where a step (within the bound below,
 * over it above) disagrees with the fewest runs, and the capacity is interpolated between
 * the two loads around that split.
 */

/** One load of a capacity sweep: its p99, or null when the run did not count (invalid: dropped or fell behind). */
export interface SweepPoint {
  readonly offeredRps: number;
  readonly p99Us: number | null;
}

export interface CapacityEstimate {
  /** Requests per second, rounded down to `resolutionRps`; 0 when the sweep puts it below its lowest load. */
  readonly rps: number;
  /**
   * `crossing`: between two swept loads; `all-within`: the sweep never reaches the bound, so
   * the capacity is at least its highest load (reported as that load); `none-within`: below
   * its lowest load.
   */
  readonly bracket: 'crossing' | 'all-within' | 'none-within';
  /** Runs on the wrong side of the split (a load over the bound below it, or within it above). */
  readonly outliers: number;
}

const within = (point: SweepPoint, boundUs: number): boolean => point.p99Us !== null && point.p99Us <= boundUs;

/**
 * The capacity of a sweep at `boundUs` (see the file comment). Points may come in any order.
 * Among equally good splits the lowest is taken: a capacity claimed higher than the runs
 * support would load every share derived from it beyond what was measured.
 */
export function capacityFromSweep(points: readonly SweepPoint[], boundUs: number, resolutionRps = 100): CapacityEstimate {
  const sorted = [...points].sort((a, b) => a.offeredRps - b.offeredRps);
  // split = k: the first k loads are taken as within the bound, the rest as over it.
  let split = 0;
  let outliers = Infinity;
  for (let k = 0; k <= sorted.length; k++) {
    const wrong = sorted.slice(0, k).filter((p) => !within(p, boundUs)).length + sorted.slice(k).filter((p) => within(p, boundUs)).length;
    if (wrong < outliers) {
      outliers = wrong;
      split = k;
    }
  }
  if (split === 0) return { rps: 0, bracket: 'none-within', outliers };
  if (split === sorted.length) return { rps: sorted[split - 1]!.offeredRps, bracket: 'all-within', outliers };
  const below = sorted[split - 1]!;
  const above = sorted[split]!;
  // At the best split the load below is within the bound and the one above over it (else moving
  // the split by one would disagree with one run fewer); an invalid run above has no p99 to interpolate to.
  const rps =
    below.p99Us !== null && above.p99Us !== null
      ? below.offeredRps + ((boundUs - below.p99Us) / (above.p99Us - below.p99Us)) * (above.offeredRps - below.offeredRps)
      : below.offeredRps;
  return { rps: Math.max(below.offeredRps, Math.floor(rps / resolutionRps) * resolutionRps), bracket: 'crossing', outliers };
}
