/** A handful of numbers about a set of durations, in microseconds. */
export interface LatencySummaryJson {
  readonly count: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
}

/**
 * Collects durations and summarises them. Meant for rare events (a SCAN's marking, say), so
 * it keeps every sample up to `capacity` and then only counts; the summary covers the kept ones.
 */
export class LatencySummary {
  readonly #samples: number[] = [];
  readonly #capacity: number;
  #count = 0;

  constructor(capacity = 1_000_000) {
    this.#capacity = capacity;
  }

  add(us: number): void {
    this.#count++;
    if (this.#samples.length < this.#capacity) this.#samples.push(us);
  }

  get count(): number {
    return this.#count;
  }

  toJSON(): LatencySummaryJson {
    const sorted = [...this.#samples].sort((a, b) => a - b);
    const at = (q: number): number => round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    const mean = sorted.length === 0 ? 0 : sorted.reduce((s, v) => s + v, 0) / sorted.length;
    return { count: this.#count, meanUs: round(mean), p50Us: at(0.5), p99Us: at(0.99), maxUs: round(sorted.at(-1) ?? 0) };
  }
}

function round(us: number): number {
  return Math.round(us * 10) / 10;
}
