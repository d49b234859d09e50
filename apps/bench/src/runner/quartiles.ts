/**
 * The spread of a measurement over rounds: median and interquartile range. On this shared
 * machine the host's stalls move a p99 by milliseconds from one run to the next, so one run
 * says little; the middle half of the rounds (q1 to q3) says how far to trust the median.
 */
export interface Quartiles {
  readonly q1: number;
  readonly median: number;
  readonly q3: number;
  /** How many values they summarize. */
  readonly count: number;
}

/** The value at fraction `p` of the sorted values, interpolated linearly between neighbours. */
function quantile(sorted: readonly number[], p: number): number {
  const at = (sorted.length - 1) * p;
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (at - low);
}

/** Quartiles of `values` (at least one; NaN and infinities are refused). */
export function quartiles(values: readonly number[]): Quartiles {
  if (values.length === 0) throw new RangeError('no values to take quartiles of');
  if (values.some((v) => !Number.isFinite(v))) throw new RangeError(`quartiles need finite values, not ${values.join(', ')}`);
  const sorted = [...values].sort((a, b) => a - b);
  return { q1: quantile(sorted, 0.25), median: quantile(sorted, 0.5), q3: quantile(sorted, 0.75), count: sorted.length };
}
