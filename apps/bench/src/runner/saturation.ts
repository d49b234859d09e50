import { MIN_ACHIEVED_FRACTION } from './run-record.js';

/**
 * A server's saturation throughput from a sweep of offered loads: the highest load at which it
 * achieved at least 98% of the offered rate. It is a throughput, not a latency knee: on this
 * shared 2-vCPU machine the host's multi-millisecond vCPU stalls put a p99 anywhere between
 * 0.5 and 3 ms at every load from 5k to 13k req/s, so a "1-ms capacity" is set by the host;
 * whether the server keeps up with the offered rate is set by its own work.
 */

/** One load of a saturation sweep. */
export interface SaturationPoint {
  readonly offeredRps: number;
  readonly achievedRps: number;
}

/** The loads of a sweep in steps of `step` (5% = 0.05) from `start`, rounded to 100 req/s: start, start x 1.05, ... */
export function saturationLoads(start: number, step: number, count: number): number[] {
  const loads: number[] = [];
  for (let k = 0; k < count; k++) loads.push(Math.round((start * (1 + step) ** k) / 100) * 100);
  return [...new Set(loads)];
}

export const keepsUp = (point: SaturationPoint): boolean => point.achievedRps >= MIN_ACHIEVED_FRACTION * point.offeredRps;

/** The highest offered load the server kept up with (achieved >= 98% of it); 0 when it kept up with none. */
export function saturationThroughput(points: readonly SaturationPoint[]): number {
  return Math.max(0, ...points.filter(keepsUp).map((p) => p.offeredRps));
}

/**
 * Whether an ascending sweep may stop: the last `misses` loads all fell short. One load that
 * falls short by chance (a host stall in its window) does not end it; two in a row do.
 */
export function saturationSweepDone(points: readonly SaturationPoint[], misses = 2): boolean {
  return points.length >= misses && points.slice(-misses).every((p) => !keepsUp(p));
}
