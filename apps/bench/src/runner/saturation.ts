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

/** Offered loads are whole hundreds of req/s. */
const round100 = (load: number): number => Math.round(load / 100) * 100;

/** The loads of a sweep in steps of `step` (5% = 0.05) from `start`, rounded to 100 req/s: start, start x 1.05, ... */
export function saturationLoads(start: number, step: number, count: number): number[] {
  const loads: number[] = [];
  for (let k = 0; k < count; k++) loads.push(round100(start * (1 + step) ** k));
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

/** How a saturation search steps: coarse steps until the server falls short, then fine steps below that. */
export interface SaturationSearchSpec {
  readonly start: number;
  /** The coarse step, as a fraction (0.2: each load 20% above the last). */
  readonly coarseStep: number;
  /** The fine step (0.05): the resolution of the throughput found. */
  readonly fineStep: number;
  /** At most this many loads in all. */
  readonly maxLoads: number;
}

/**
 * An ascending search for the highest load a server sustains, at a fine step's resolution in
 * far fewer runs than a fine sweep from a low start: coarse steps until two loads in a row fall
 * short (one short load may be a host stall), then fine steps from the highest load sustained up
 * to the lowest short load above it, again until two fall short in a row. Loads are rounded to
 * 100 req/s. Drive it with next() and record() in turn; `saturation` is the highest sustained.
 *
 * Invariant: every load handed out by next() is recorded before the next one is asked for.
 */
export class SaturationSearch {
  readonly #spec: SaturationSearchSpec | undefined;
  readonly #fixed: readonly number[] | undefined;
  readonly #points: Array<{ readonly load: number; readonly sustained: boolean }> = [];
  #phase: 'coarse' | 'fine' | 'done' = 'coarse';
  #fine: number[] = [];
  /** Where the current phase's points begin: two short loads in a row are counted within a phase. */
  #phaseStart = 0;
  #pending: number | undefined;

  private constructor(spec: SaturationSearchSpec | undefined, fixed: readonly number[] | undefined) {
    this.#spec = spec;
    this.#fixed = fixed;
  }

  /** Coarse then fine steps from `spec.start`. */
  static geometric(spec: SaturationSearchSpec): SaturationSearch {
    if (!(spec.start > 0 && spec.coarseStep > spec.fineStep && spec.fineStep > 0 && spec.maxLoads >= 1)) {
      throw new RangeError('a saturation search needs start > 0, coarseStep > fineStep > 0 and maxLoads >= 1');
    }
    return new SaturationSearch(spec, undefined);
  }

  /** The given ascending loads only (--loads), ending after two short loads in a row. */
  static over(loads: readonly number[]): SaturationSearch {
    return new SaturationSearch(undefined, [...loads]);
  }

  /** The next load to run, or undefined when the search is over. */
  next(): number | undefined {
    if (this.#pending !== undefined) throw new Error('SaturationSearch.next() called before the last load was recorded');
    if (this.#points.length >= (this.#spec?.maxLoads ?? Infinity)) this.#phase = 'done';
    if (this.#phase === 'coarse') {
      const load = this.#fixed !== undefined ? this.#fixed[this.#points.length] : round100(this.#spec!.start * (1 + this.#spec!.coarseStep) ** this.#points.length);
      if (load !== undefined) return (this.#pending = load);
      this.#phase = 'done';
    }
    if (this.#phase === 'fine') {
      const load = this.#fine.shift();
      if (load !== undefined) return (this.#pending = load);
      this.#phase = 'done';
    }
    return undefined;
  }

  record(load: number, sustained: boolean): void {
    if (load !== this.#pending) throw new Error(`SaturationSearch.record(${load}) does not match the load handed out (${this.#pending})`);
    this.#pending = undefined;
    this.#points.push({ load, sustained });
    if (!this.#twoShortInARow()) return;
    if (this.#phase === 'coarse' && this.#spec !== undefined) {
      this.#phase = 'fine';
      this.#phaseStart = this.#points.length;
      this.#fine = this.#fineLoads(this.#spec);
    } else {
      this.#phase = 'done';
    }
  }

  /** The highest load sustained so far; 0 when none. */
  get saturation(): number {
    return Math.max(0, ...this.#points.filter((p) => p.sustained).map((p) => p.load));
  }

  get loads(): number[] {
    return this.#points.map((p) => p.load);
  }

  #twoShortInARow(): boolean {
    const last = this.#points.slice(this.#phaseStart).slice(-2);
    return last.length === 2 && last.every((p) => !p.sustained);
  }

  /** Fine steps strictly between the highest sustained load and the lowest short load above it, not already run. */
  #fineLoads(spec: SaturationSearchSpec): number[] {
    const floor = this.saturation;
    if (floor === 0) return [];
    const ceiling = Math.min(...this.#points.filter((p) => !p.sustained && p.load > floor).map((p) => p.load));
    const run = new Set(this.#points.map((p) => p.load));
    const loads: number[] = [];
    for (let k = 1; ; k++) {
      const load = round100(floor * (1 + spec.fineStep) ** k);
      if (load >= ceiling) break;
      if (!run.has(load)) loads.push(load);
    }
    return loads;
  }
}

