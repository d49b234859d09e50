import type { RunRecord } from '../../src/runner/run-record.js';

/** A synthetic run record for runner tests: only what a test cares about is given, the rest is a valid, quiet run. */
export function syntheticRun(policy: string, offeredRps: number, getP99Us: number, overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    policy,
    offeredRps,
    achievedRps: offeredRps,
    getP50Us: Math.round(getP99Us / 10),
    getP99Us,
    getP999Us: getP99Us * 2,
    scanP99Us: 5500,
    getP99FromSendUs: getP99Us,
    dropped: 0,
    requests: offeredRps * 10,
    valid: true,
    repeat: 0,
    loadgen: { cpu: 1, gcPauses: { count: 0, totalMs: 0, maxMs: 0 }, runQueueWaitMs: 0, schedule: { maxLatenessUs: 10, p99LatenessUs: 5, fellBehind: false } },
    ...overrides,
  };
}
