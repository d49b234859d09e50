import { describe, expect, it } from 'vitest';
import type { LoadReport } from '../src/loadgen/load-report.js';
import { defaultCpus } from '../src/runner/cpu-split.js';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { experimentReport } from '../src/runner/experiment-report.js';
import { experimentResults, writeExperimentResults } from '../src/runner/experiment-results.js';
import { defaultDurationS, EXPERIMENTS, selectExperiments } from '../src/runner/experiments.js';
import { policySentences } from '../src/runner/policy-sentences.js';
import { formatResultsTable } from '../src/runner/results-table.js';
import { SaturationSearch, saturationLoads, saturationSweepDone, saturationThroughput } from '../src/runner/saturation.js';
import { quartiles } from '../src/runner/quartiles.js';
import { reportedRuns, sweepOrder } from '../src/runner/run-experiment.js';
import { sweepToSaturation, tokenSettings } from '../src/runner/token-qos.js';
import { judgeRun, medianRun, toRunRecord, type RunRecord } from '../src/runner/run-record.js';
import { getOnlyVerdict, micaSaturation, micaSustains, micaVerdict, scanMixVerdict, shortByGenerator, sustainedLoad, tokenQosVerdict } from '../src/runner/verdicts.js';
import { syntheticRun } from './support/synthetic-run.js';

/** What a results document records besides the runs: a fixed commit, machine and start, and the settings of `experiment`'s command. */
function resultsContext(experiment: string, settings: { durationS?: number; repeats?: number } = {}) {
  return {
    commit: 'abc',
    dirty: false,
    command: `node apps/bench/bin/experiment.mjs --experiment ${experiment}`,
    machine: { cpus: 2, model: 'm', kernel: '6.18', node: 'v24' },
    startedAt: new Date('2026-01-01T00:00:00Z'),
    settings: { durationS: 10, warmupS: 2, graceMs: 1000, loadgenCpu: 1, serverCpus: '0', seed: 1, repeats: 3, quick: false, ...settings },
  };
}

/** A synthetic run record: only what a test cares about is given. */
const run = syntheticRun;

const summary = (count: number, received: number, p99Us: number) => ({ count, received, dropped: count - received, p50Us: p99Us / 4, p99Us, p999Us: p99Us * 2, maxUs: p99Us * 3, meanUs: p99Us / 3, p99FromSendUs: p99Us });

function loadReport(overrides: Partial<LoadReport> = {}): LoadReport {
  return {
    target: '127.0.0.1:7000',
    transport: 'udp',
    transportDrops: null,
    cpu: 1,
    offeredRps: 8000,
    achievedRps: 7990,
    measuredWindowS: 10,
    warmupS: 2,
    flows: 16,
    sent: 80_000,
    received: 79_900,
    dropped: 100,
    sendFailures: 0,
    strayReplies: 0,
    byType: { GET: summary(79_600, 79_500, 400), SCAN: summary(400, 400, 5600) },
    byUser: { '0': { ...summary(80_000, 79_900, 450), offeredRps: 8000, achievedRps: 7990 } },
    repliesPerWorker: [1, 2, 3],
    gcPauses: { count: 1, totalMs: 0.5, maxMs: 0.5 },
    runQueueWaitMs: 3,
    schedule: { maxLatenessUs: 30, p99LatenessUs: 8, fellBehind: false },
    aborted: false,
    ...overrides,
  };
}

describe('validity rule', () => {
  it('needs achieved >= 98% of offered and at most 0.1% dropped', () => {
    expect(judgeRun(8000, 7840, 10, 80_000)).toEqual({ valid: true });
    expect(judgeRun(8000, 7839, 0, 80_000)).toMatchObject({ valid: false, invalidReason: expect.stringMatching(/achieved 7839 < 98% of offered 8000/) });
    expect(judgeRun(8000, 8000, 81, 80_000)).toMatchObject({ valid: false, invalidReason: expect.stringMatching(/dropped 0\.10% > 0\.1%/) });
    expect(judgeRun(8000, 8000, 80, 80_000).valid).toBe(true);
  });

  it('turns a loadgen report into a run record with the compared fields', () => {
    const record = toRunRecord('sita', loadReport(), { stopped: true, servedPerWorker: [5, 6], byType: { get: 1, scan: 0, put: 0 }, ignored: 0 }, 2);
    expect(record).toMatchObject({ policy: 'sita', offeredRps: 8000, achievedRps: 7990, getP50Us: 100, getP99Us: 400, getP999Us: 800, scanP99Us: 5600, dropped: 100, requests: 80_000, valid: false, repeat: 2, servedPerWorker: [5, 6] });
    expect(record.invalidReason).toMatch(/dropped 0\.13%/);
    // One user: no per-user breakdown; two users: both reported.
    expect(record.users).toBeUndefined();
    const twoUsers = toRunRecord('token-qos', loadReport({ byUser: { '0': { ...summary(10, 10, 300), offeredRps: 1, achievedRps: 1 }, '1': { ...summary(10, 5, 900), offeredRps: 1, achievedRps: 0.5 } } }), undefined, 0);
    expect(twoUsers.users?.['1']).toMatchObject({ p99Us: 900, dropped: 5 });
    const noScans = toRunRecord('x', loadReport({ byType: { GET: summary(10, 10, 1) } }), undefined, 0);
    expect(noScans.scanP99Us).toBeNull();
  });
});

describe('side-by-side order and medians', () => {
  it('runs every policy at every load each repeat, rotating which policy goes first', () => {
    const order = sweepOrder(['a', 'b', 'c'], [1000, 2000], 2);
    expect(order).toHaveLength(12);
    expect(new Set(order.map((o) => `${o.policy}${o.load}${o.repeat}`)).size).toBe(12);
    // Policies of one load point run back to back.
    expect(order.slice(0, 3).map((o) => o.load)).toEqual([1000, 1000, 1000]);
    expect(order.filter((_, i) => i % 3 === 0).map((o) => o.policy)).toEqual(['a', 'b', 'c', 'a']);
  });

  it('reports the median round of each point with the GET p99 quartiles over its rounds, sorted by load then policy', () => {
    const runs = [run('b', 2000, 900), run('a', 2000, 100), run('a', 1000, 300), run('a', 1000, 100), run('a', 1000, 200)];
    const reported = reportedRuns(runs, ['a', 'b']);
    expect(reported.map((r) => [r.policy, r.offeredRps, r.getP99Us, r.repeatsOfPoint])).toEqual([
      ['a', 1000, 200, 3],
      ['a', 2000, 100, 1],
      ['b', 2000, 900, 1],
    ]);
    expect(reported[0]!.getP99Spread).toEqual({ q1: 150, median: 200, q3: 250, count: 3 });
    expect(quartiles([4, 1, 3, 2, 100])).toEqual({ q1: 2, median: 3, q3: 4, count: 5 });
    expect(() => quartiles([])).toThrow(RangeError);
    expect(medianRun([run('a', 1, 5), run('a', 1, 1)]).getP99Us).toBe(1);
  });
});

describe('verdicts', () => {
  const scanMix = EXPERIMENTS['scan-mix'];
  // Rounds: `repeat` is the round a run belongs to; a round's policies ran side by side.
  const inRound = (round: number, runs: RunRecord[]): RunRecord[] => runs.map((r) => ({ ...r, repeat: round }));

  it('scan-mix: judged on the median of per-round ratios at 8k, the smaller of SITA and scan-avoid, against 8x', () => {
    const rounds = [
      inRound(0, [run('linux-default', 8000, 20_000), run('sita', 8000, 1000), run('scan-avoid', 8000, 2000), run('round-robin', 8000, 9000)]),
      // A noisy round: linux-default happened to do well, so its ratios are low.
      inRound(1, [run('linux-default', 8000, 3000), run('sita', 8000, 1000), run('scan-avoid', 8000, 1500)]),
      inRound(2, [run('linux-default', 8000, 30_000), run('sita', 8000, 2000), run('scan-avoid', 8000, 3000)]),
      // Other loads do not count.
      inRound(0, [run('linux-default', 4000, 100), run('sita', 4000, 1000)]),
    ].flat();
    // sita: 20, 3, 15 -> 15; scan-avoid: 10, 2, 10 -> 10. Pooled medians (20000 / 1000 = 20) would say otherwise.
    const verdict = scanMixVerdict(scanMix, rounds);
    expect(verdict).toMatchObject({ measuredRatio: 10, met: true });
    expect(verdict.details[0]).toBe("sita: GET p99 15.0x (median of 3 rounds' ratios, IQR 9.00x-17.5x) lower than linux-default at 8000 req/s");
    const tooSlow = [run('linux-default', 8000, 10_000), run('sita', 8000, 1000), run('scan-avoid', 8000, 2000)];
    expect(scanMixVerdict(scanMix, tooSlow)).toMatchObject({ measuredRatio: 5, met: false });
    // A round with an invalid run is not judged; with one of three rounds left, fewer than half: inconclusive.
    const invalid = [
      ...inRound(0, [run('linux-default', 8000, 20_000), run('sita', 8000, 1000, { valid: false }), run('scan-avoid', 8000, 1000)]),
      ...inRound(1, [run('linux-default', 8000, 20_000, { valid: false }), run('sita', 8000, 1000), run('scan-avoid', 8000, 1000)]),
      ...inRound(2, [run('linux-default', 8000, 20_000), run('sita', 8000, 1000), run('scan-avoid', 8000, 1000)]),
    ];
    const inconclusive = scanMixVerdict(scanMix, invalid);
    expect(inconclusive).toMatchObject({ measuredRatio: null, met: false });
    expect(inconclusive.details[0]).toBe(
      'sita: 1 of 3 rounds at 8000 req/s could be compared with linux-default, fewer than half: inconclusive; 2 of 3 rounds had a run failing the validity rule and were not judged',
    );
    expect(scanMixVerdict(scanMix, [run('linux-default', 8000, 1)])).toMatchObject({ measuredRatio: null, met: false });
  });

  it('get-only: per round the highest valid load within 1 ms per policy, judged on the median of round-robin over linux-default', () => {
    const sweep = (round: number, linuxOk: number, rrOk: number): RunRecord[] =>
      inRound(
        round,
        [8000, 10_000, 12_000, 14_000, 16_000].flatMap((load) => [
          run('linux-default', load, load <= linuxOk ? 600 : 3000),
          run('round-robin', load, load <= rrOk ? 500 : 2000, load === 16_000 ? { valid: false } : {}),
        ]),
      );
    const one = sweep(0, 10_000, 14_000);
    expect(sustainedLoad(one, 'linux-default')).toBe(10_000);
    expect(sustainedLoad(one, 'round-robin')).toBe(14_000);
    // Ratios 1.4, 1.75, 1.5: median 1.5 .
    const verdict = getOnlyVerdict(EXPERIMENTS['get-only'], [...one, ...sweep(1, 8000, 14_000), ...sweep(2, 8000, 12_000)]);
    expect(verdict).toMatchObject({ measuredRatio: 1.5, met: true });
    expect(verdict.details[0]).toBe('linux-default sustains 8000 req/s (median of 3 rounds: 10000, 8000, 8000) at GET p99 <= 1 ms');
    expect(verdict.details.at(-1)).toBe("round-robin over linux-default: 1.50x (median of 3 rounds' ratios, IQR 1.45x-1.63x)");
    expect(getOnlyVerdict(EXPERIMENTS['get-only'], one)).toMatchObject({ measuredRatio: 1.4, met: false });
    expect(getOnlyVerdict(EXPERIMENTS['get-only'], [run('round-robin', 4000, 10)])).toMatchObject({ measuredRatio: null, met: false });
  });

  it('token-qos saturation: S is the highest load of the 5% step sweep with achieved >= 98% of offered', () => {
    expect(saturationLoads(12_000, 0.05, 5)).toEqual([12_000, 12_600, 13_200, 13_900, 14_600]);
    const at = (offeredRps: number, achievedRps: number) => ({ offeredRps, achievedRps });
    // 98% exactly keeps up; a latency that grows (not looked at) does not lower S.
    expect(saturationThroughput([at(20_000, 20_000), at(21_000, 20_580), at(22_000, 21_000), at(23_100, 21_500)])).toBe(21_000);
    // One load that fell short by chance below a higher one that kept up: S is still the highest that kept up.
    expect(saturationThroughput([at(20_000, 20_000), at(21_000, 20_000), at(22_100, 22_000)])).toBe(22_100);
    expect(saturationThroughput([at(20_000, 10_000)])).toBe(0);
    expect(saturationThroughput([])).toBe(0);
    // The sweep stops after two loads in a row fall short, not after one.
    expect(saturationSweepDone([at(1, 1), at(2, 1)])).toBe(false);
    expect(saturationSweepDone([at(1, 1), at(2, 1), at(3, 1)])).toBe(true);
    expect(saturationSweepDone([at(2, 1), at(3, 3)])).toBe(false);
  });

  it('token-qos saturation sweep: runs ascending until two loads in a row fall short, and tokens and buckets from S', async () => {
    const measured: number[] = [];
    // Keeps up to 22k, then serves at most 22.5k.
    const runs = await sweepToSaturation([20_000, 21_000, 22_000, 23_100, 24_300, 25_500], async (load) => {
      measured.push(load);
      return run('round-robin', load, 500, { achievedRps: Math.min(load, 22_500) });
    });
    expect(measured).toEqual([20_000, 21_000, 22_000, 23_100, 24_300]);
    expect(saturationThroughput(runs)).toBe(22_000);
    // 90% of 15000 = 13500 tokens/s; a 2 ms bucket holds 27, a 1 ms best-effort bucket 13.5, rounded to 14.
    expect(tokenSettings(EXPERIMENTS['token-qos'], 15_000)).toEqual({ tokenRate: 13_500, tokenBurst: 27, tokenBestEffortBurst: 14 });
    const qos = EXPERIMENTS['token-qos'];
    expect(qos.lsShare + qos.beShare).toBeCloseTo(qos.overload);
    expect(qos.overload).toBe(1.2);
  });

  it('runs last 20 s for token-qos, 5 s for mica and 10 s for the sweeps unless --quick (4 s)', () => {
    expect(defaultDurationS(EXPERIMENTS['token-qos'], false)).toBe(20);
    expect(defaultDurationS(EXPERIMENTS['mica'], false)).toBe(5);
    expect(defaultDurationS(EXPERIMENTS['scan-mix'], false)).toBe(10);
    expect(defaultDurationS(EXPERIMENTS['get-only'], false)).toBe(10);
    expect(defaultDurationS(EXPERIMENTS['token-qos'], true)).toBe(4);
  });

  it('--experiment all selects every experiment, each once; an unknown name none', () => {
    expect(selectExperiments('all')).toEqual(Object.keys(EXPERIMENTS));
    expect(new Set(selectExperiments('all')).size).toBe(Object.keys(EXPERIMENTS).length);
    for (const name of Object.keys(EXPERIMENTS)) expect(selectExperiments(name)).toEqual([name]);
    expect(selectExperiments('everything')).toBeUndefined();
  });

  it('token-qos at 1.2 S: judged on the median of per-round LS p99 ratios (>= 10x), LS drops (<= 1%) and BE share of the spare tokens (>= 80%)', () => {
    // S = 10000: tokens 9000/s; LS uses ~5000, so the spare is ~4000 and 80% of it 3200.
    const users = (lsP99: number, lsDropped: number, beAchieved: number, lsAchieved = 5000) => ({
      '0': { offeredRps: 5000, achievedRps: lsAchieved, p50Us: 100, p99Us: lsP99, p999Us: lsP99, dropped: lsDropped, count: 100_000 },
      '1': { offeredRps: 7000, achievedRps: beAchieved, p50Us: 100, p99Us: 5000, p999Us: 5000, dropped: 0, count: 140_000 },
    });
    const experiment = EXPERIMENTS['token-qos'];
    const at = (policy: string, round: number, u: ReturnType<typeof users>) => run(policy, 12_000, u['0'].p99Us, { users: u, round, saturationRps: 10_000, valid: false });
    // Per-round ratios 50, 8, 30 -> median 30 (the pooled medians, 300 ms / 2 ms = 150, would say otherwise).
    const qos = [at('token-qos', 0, users(2000, 100, 3300)), at('token-qos', 1, users(20_000, 100, 3300)), at('token-qos', 2, users(10_000, 100, 3300))];
    const rr = [at('round-robin', 0, users(100_000, 20_000, 6000)), at('round-robin', 1, users(160_000, 20_000, 6000)), at('round-robin', 2, users(300_000, 20_000, 6000))];
    const verdict = tokenQosVerdict(experiment, [...qos, ...rr], 10_000, 3);
    expect(verdict).toMatchObject({ met: true, measuredRatio: 30 });
    expect(verdict.details).toEqual([
      'S = 10000 req/s; offered 12000 req/s (LS 5000, BE 7000), tokens 9000/s',
      "round-robin's LS GET p99 over token-qos's: 30.0x (median of 3 rounds' ratios, IQR 19.0x-40.0x)",
      'token-qos: 0.10% of LS dropped (median over rounds; per round 0.10%, 0.10%, 0.10%); round-robin dropped 20.00% of LS',
      'token-qos: BE served 83% of the spare token rate (median over rounds; per round 83%, 83%, 83%)',
    ]);
    // Under 10x, too many LS drops, or BE starved: not met.
    const close = rr.map((r) => ({ ...r, users: users(15_000, 0, 6000) }));
    expect(tokenQosVerdict(experiment, [...qos, ...close], 10_000, 3).met).toBe(false);
    const lsDrops = qos.map((r) => ({ ...r, users: users(2000, 1001, 3300) }));
    expect(tokenQosVerdict(experiment, [...lsDrops, ...rr], 10_000, 3).met).toBe(false);
    const beStarved = qos.map((r) => ({ ...r, users: users(2000, 100, 3100) }));
    expect(tokenQosVerdict(experiment, [...beStarved, ...rr], 10_000, 3).met).toBe(false);
    // The spare is what LS left of the tokens: LS using less leaves BE more to be served.
    const lsLight = qos.map((r) => ({ ...r, users: users(2000, 100, 3300, 4000) }));
    expect(tokenQosVerdict(experiment, [...lsLight, ...rr], 10_000, 3).met).toBe(false);
    // Judged on fewer than half of the rounds: inconclusive, whatever the medians say.
    const minority = tokenQosVerdict(experiment, [qos[0]!, rr[0]!], 10_000, 3);
    expect(minority).toMatchObject({ met: false, measuredRatio: null });
    expect(minority.details).toEqual(['only 1 of 3 rounds have both policies with answered LS requests, fewer than half: inconclusive']);
  });
});

describe('mica', () => {
  const experiment = EXPERIMENTS['mica'];
  const sweep = (label: string, workload: string, round: number, sustainedUpTo: number, extra: (load: number) => Partial<RunRecord> = () => ({})): RunRecord[] =>
    [20_000, 21_000, 22_000, 23_100, 24_300, 25_500, 26_800].map((load) =>
      run(label, load, load <= sustainedUpTo ? 3000 : 9000, { workload, repeat: round, ...extra(load) }),
    );

  /** Drives a search against a server that sustains every load up to `limit`, except the loads in `stalls` (a host stall). */
  const searchAgainst = (search: SaturationSearch, limit: number, stalls: readonly number[] = []): number[] => {
    for (let load = search.next(); load !== undefined; load = search.next()) search.record(load, load <= limit && !stalls.includes(load));
    return search.loads;
  };
  const spec = { start: 40_000, coarseStep: 0.2, fineStep: 0.05, maxLoads: 30 };

  it('the saturation search: coarse 20% steps until two short in a row, then 5% steps from the highest sustained to the first short load', () => {
    const search = SaturationSearch.geometric(spec);
    // 40k, 48k, 57.6k, 69.1k, 82.9k, 99.5k sustained; 119.4k, 143.3k short; then 104.5k, 109.7k sustained, 115.2k short (no 2nd short below 119.4k).
    expect(searchAgainst(search, 110_000)).toEqual([40_000, 48_000, 57_600, 69_100, 82_900, 99_500, 119_400, 143_300, 104_500, 109_700, 115_200]);
    expect(search.saturation).toBe(109_700);
  });

  it('the saturation search: one short load (a stall) does not end a phase; two in a row end the fine phase too', () => {
    // 57.6k stalls but 69.1k goes on; in the fine phase 104.5k and 109.7k fall short in a row: done, below the coarse ceiling.
    const stalled = SaturationSearch.geometric(spec);
    expect(searchAgainst(stalled, 100_000, [57_600])).toEqual([40_000, 48_000, 57_600, 69_100, 82_900, 99_500, 119_400, 143_300, 104_500, 109_700]);
    expect(stalled.saturation).toBe(99_500);
    // A coarse stall above the true limit: the fine steps stop at the lowest short load above the highest sustained.
    const late = SaturationSearch.geometric(spec);
    expect(searchAgainst(late, 125_000, [99_500])).toEqual([40_000, 48_000, 57_600, 69_100, 82_900, 99_500, 119_400, 143_300, 172_000, 125_400, 131_600]);
    expect(late.saturation).toBe(119_400);
  });

  it('the saturation search: nothing sustained ends after two loads; maxLoads bounds it; --loads takes no fine steps', () => {
    const none = SaturationSearch.geometric(spec);
    expect(searchAgainst(none, 0)).toEqual([40_000, 48_000]);
    expect(none.saturation).toBe(0);
    const bounded = SaturationSearch.geometric({ ...spec, maxLoads: 3 });
    expect(searchAgainst(bounded, 1e9)).toEqual([40_000, 48_000, 57_600]);
    const fixed = SaturationSearch.over([10_000, 20_000, 30_000, 40_000, 50_000]);
    expect(searchAgainst(fixed, 25_000)).toEqual([10_000, 20_000, 30_000, 40_000]);
    expect(fixed.saturation).toBe(20_000);
    // The invariant: each load handed out is recorded before the next is asked for, and only that load.
    const strict = SaturationSearch.geometric(spec);
    expect(strict.next()).toBe(40_000);
    expect(() => strict.next()).toThrow(/before the last load was recorded/);
    expect(() => strict.record(41_000, true)).toThrow(/does not match/);
    expect(() => SaturationSearch.geometric({ ...spec, fineStep: 0.3 })).toThrow(RangeError);
  });

  it('a load is sustained with a valid run and GET p99 <= 5 ms; saturation is the highest sustained', () => {
    expect(micaSustains(run('x', 10_000, 5000), 5000)).toBe(true);
    expect(micaSustains(run('x', 10_000, 5001), 5000)).toBe(false);
    expect(micaSustains(run('x', 10_000, 100, { achievedRps: 9700 }), 5000)).toBe(false);
    expect(micaSustains(run('x', 10_000, 100, { dropped: 101, requests: 100_000 }), 5000)).toBe(false);
    expect(micaSustains(run('x', 10_000, 100, { getP99Us: null }), 5000)).toBe(false);
    expect(micaSaturation(sweep('a', 'w', 0, 23_100), 5000)).toBe(23_100);
    expect(micaSaturation([], 5000)).toBe(0);
  });

  it('judged on the median of per-round ratios of Syrup over MICA, which must reach 1.3x on both workloads', () => {
    const rounds = (syrup: number[], mica: number[], workload: string): RunRecord[] =>
      syrup.flatMap((s, round) => [...sweep('syrup key-hash', workload, round, s), ...sweep('mica handoff', workload, round, mica[round]!)]);
    // 50% GET: 26800/20000 = 1.34, 25500/20000 = 1.275, 26800/21000 = 1.276 -> median 1.276; 95% GET: 1.34 each.
    const runs = [...rounds([26_800, 25_500, 26_800], [20_000, 20_000, 21_000], '50% GET'), ...rounds([26_800, 26_800, 26_800], [20_000, 20_000, 20_000], '95% GET')];
    const verdict = micaVerdict(experiment, runs, 3);
    expect(verdict).toMatchObject({ met: false, measuredRatio: 1.28 });
    expect(verdict.details).toContain("50% GET: Syrup key-hash sustains 26800 req/s, MICA's handoff 20000 req/s (medians of 3 rounds: 26800, 25500, 26800 and 20000, 20000, 21000)");
    const better = [...rounds([26_800, 26_800, 26_800], [20_000, 20_000, 20_000], '50% GET'), ...rounds([26_800, 26_800, 26_800], [20_000, 20_000, 20_000], '95% GET')];
    expect(micaVerdict(experiment, better, 3)).toMatchObject({ met: true, measuredRatio: 1.34 });
    // MET only when both workloads meet it: one workload inconclusive (MICA sustained nothing) is not met.
    const oneInconclusive = [...rounds([26_800, 26_800, 26_800], [0, 0, 20_000], '50% GET'), ...rounds([26_800, 26_800, 26_800], [20_000, 20_000, 20_000], '95% GET')];
    const inconclusive = micaVerdict(experiment, oneInconclusive, 3);
    expect(inconclusive).toMatchObject({ met: false, measuredRatio: null });
    expect(inconclusive.details).toContain("50% GET: only 1 of 3 rounds have a ratio (MICA's handoff sustained none of the loads in the others), fewer than half: inconclusive");
  });

  it('is inconclusive on a workload where most runs that fell short did so only by the load generator falling behind', () => {
    // Behind above `sustainedUpTo`, and latency from the actual sends within the bound: its own lateness made the p99.
    const behindAbove = (sustainedUpTo: number, p99FromSendUs = 3000) => (load: number): Partial<RunRecord> =>
      load > sustainedUpTo ? { getP99FromSendUs: p99FromSendUs, loadgen: { ...run('x', load, 0).loadgen, schedule: { maxLatenessUs: 9000, p99LatenessUs: 6000, fellBehind: true } } } : {};
    const runs = [
      ...sweep('syrup key-hash', '50% GET', 0, 26_800),
      ...sweep('mica handoff', '50% GET', 0, 20_000),
      ...sweep('syrup key-hash', '95% GET', 0, 26_800, behindAbove(26_800)),
      ...sweep('mica handoff', '95% GET', 0, 20_000, behindAbove(20_000)),
    ];
    const verdict = micaVerdict(experiment, runs, 1);
    // 95% GET would be 1.34x, but all 6 of its short runs fell short only by the generator's lateness (key-hash sustained every load).
    expect(verdict).toMatchObject({ met: false, measuredRatio: null });
    expect(verdict.details).toContain(
      "95% GET: 6 of the 6 runs that fell short did so only by the load generator's lateness (it fell behind its schedule, and measured from its actual sends the run sustained its load), so the saturations are its limit as much as the server's: inconclusive",
    );
    expect(verdict.details.some((d) => d.startsWith('50% GET') && d.includes('inconclusive'))).toBe(false);
    // Half of them only (the 3 highest of mica handoff's 6 short runs): still judged, and the report says so.
    const half = [...runs.filter((r) => r.workload === '50% GET'), ...sweep('syrup key-hash', '95% GET', 0, 26_800), ...sweep('mica handoff', '95% GET', 0, 20_000, behindAbove(23_100))];
    const judged = micaVerdict(experiment, half, 1);
    expect(half.filter((r) => r.workload === '95% GET' && r.loadgen.schedule.fellBehind)).toHaveLength(3);
    expect(judged).toMatchObject({ met: true, measuredRatio: 1.34 });
    expect(judged.details).toContain('95% GET: the load generator fell behind its schedule in 3 of the 6 runs that fell short; 3 of them fell short only by its lateness');
    // Behind in every short run, but the server's p99 exceeds the bound even from the actual sends: the server's limit, judged.
    const serverBound = [...runs.filter((r) => r.workload === '50% GET'), ...sweep('syrup key-hash', '95% GET', 0, 26_800), ...sweep('mica handoff', '95% GET', 0, 20_000, behindAbove(20_000, 9000))];
    expect(micaVerdict(experiment, serverBound, 1)).toMatchObject({ met: true, measuredRatio: 1.34 });
  });

  it('blames a short run on the load generator only when it fell behind and sustained its load from the actual sends', () => {
    const behind = { maxLatenessUs: 9000, p99LatenessUs: 6000, fellBehind: true };
    const late = (overrides: Partial<RunRecord>): RunRecord => {
      const r = run('x', 10_000, 9000, overrides);
      return { ...r, loadgen: { ...r.loadgen, schedule: behind } };
    };
    expect(shortByGenerator(late({ getP99FromSendUs: 3000 }), 5000)).toBe(true);
    expect(shortByGenerator(late({ getP99FromSendUs: 6000 }), 5000)).toBe(false);
    expect(shortByGenerator(late({ getP99FromSendUs: 3000, dropped: 1000, requests: 100_000 }), 5000)).toBe(false);
    expect(shortByGenerator(run('x', 10_000, 9000, { getP99FromSendUs: 3000 }), 5000)).toBe(false);
    expect(shortByGenerator(late({ getP99Us: 3000, getP99FromSendUs: 3000 }), 5000)).toBe(false);
  });

  it("prints each run's server facts, with the replies the load generator's own socket lost", () => {
    const facts = { cpuShare: [0.3, 0.31], mainCpuShare: 0.03, cpuUsPerRequest: 2.5, handedOff: 0, handoffHighWater: 0, served: 100, dropped: 0, socketDropped: [4, 5], cpuBusy: [0.7, 0.99] };
    const plain = run('syrup key-hash', 200_000, 1500, { workload: '50% GET', mica: facts });
    const r = { ...plain, loadgen: { ...plain.loadgen, transportDrops: 3 } };
    const results = experimentResults(experiment, { runs: [r], allRuns: [r], verdict: micaVerdict(experiment, [r], 1) }, resultsContext('mica', { durationS: 5, repeats: 1 }));
    expect(experimentReport(results)).toContain(
      "  syrup key-hash [50% GET] @ 200000/s: workers 30%, 31%, main 3%; 2.5 us of worker CPU per request; 0 handed off, queue depth up to 0; dropped by workers 0, by the sockets 4+5, by the generator's socket 3; CPUs busy 70%, 99%",
    );
  });

  it('reports the handoff cost per request from paired runs both configurations sustained', () => {
    const facts = (cpuUsPerRequest: number) => ({ mica: { cpuShare: [0.4, 0.4], mainCpuShare: 0.01, cpuUsPerRequest, handedOff: 0, handoffHighWater: 0, served: 1, dropped: 0 } });
    const runs = [
      ...sweep('syrup key-hash', '50% GET', 0, 26_800, () => facts(10)),
      ...sweep('mica handoff', '50% GET', 0, 21_000, () => facts(13.5)),
      ...sweep('syrup key-hash', '95% GET', 0, 26_800),
      ...sweep('mica handoff', '95% GET', 0, 21_000),
    ];
    expect(micaVerdict(experiment, runs, 1).details).toContain('50% GET: the handoff costs 3.50 us of worker CPU per request (median over 2 loads both sustained)');
  });
});

describe('table, sentences and JSON', () => {
  it('prints one row per run and marks runs failing the validity rule with the reason', () => {
    const table = formatResultsTable([run('linux-default', 8000, 25_000), run('sita', 8000, 450, { valid: false, invalidReason: 'achieved 7000 < 98% of offered 8000', achievedRps: 7000 })]);
    const lines = table.split('\n');
    expect(lines[0]).toMatch(/^policy\s+offered\/s\s+achieved\/s\s+GET p50\s+GET p99\s+GET p99\.9\s+SCAN p99\s+dropped\s+valid$/);
    expect(lines[2]).toMatch(/^linux-default\s+8000\s+8000\s+2\.50\s+25\.0\s+50\.0\s+5\.50\s+0 \(0\.00%\)\s+yes$/);
    expect(lines[3]).toMatch(/^sita\s+8000\s+7000\s+0\.04\s+0\.45\s+0\.90\s+5\.50\s+0 \(0\.00%\)\s+NO$/);
    expect(table).toContain('sita at 8000/s: achieved 7000 < 98% of offered 8000');
    expect(table).not.toContain('fell behind');
    const behind = formatResultsTable([
      run('sita', 8000, 450, { loadgen: { cpu: 1, gcPauses: { count: 0, totalMs: 0, maxMs: 0 }, runQueueWaitMs: 2500, schedule: { maxLatenessUs: 90_000, p99LatenessUs: 40_000, fellBehind: true } } }),
    ]);
    expect(behind).toContain('note: the load generator fell behind its schedule in 1 of 1 runs (p99 lateness up to 40.0 ms; its CPU was taken by other processes for up to 2.5 s of a run)');
    const qos = formatResultsTable([run('token-qos', 8000, 1, { valid: false })], { validityApplies: (r) => r.policy !== 'token-qos' });
    expect(qos.split('\n')[2]).toMatch(/n\/a$/);
    // Points measured in rounds show the spread of their GET p99s.
    const [point] = reportedRuns([run('sita', 8000, 400), run('sita', 8000, 600, { repeat: 1 }), run('sita', 8000, 1200, { repeat: 2 })], ['sita']);
    const spread = formatResultsTable([point!]).split('\n');
    expect(spread[0]).toMatch(/GET p99\s+p99 IQR\s+GET p99\.9/);
    expect(spread[2]).toMatch(/^sita\s+8000\s+8000\s+0\.06\s+0\.60\s+0\.50-0\.90\s/);
    expect(spread.at(-1)).toContain('each row is the median of up to 3 rounds');
  });

  it('says one sentence per policy against linux-default, from the median of per-round ratios', () => {
    const sentences = policySentences([run('linux-default', 8000, 10_000), run('sita', 8000, 400), run('round-robin', 8000, 20_000), run('sita', 4000, 1)], 8000);
    expect(sentences).toEqual([
      'linux-default: GET p99 10 ms at 8000 req/s, with no program attached (the kernel hashes each flow to a socket).',
      'sita: GET p99 0.40 ms at 8000 req/s, 25x lower than linux-default.',
      'round-robin: GET p99 20 ms at 8000 req/s, 2.0x higher than linux-default.',
    ]);
    const at = (round: number, policy: string, p99: number): RunRecord => run(policy, 8000, p99, { repeat: round });
    const rounds = [
      ...[10_000, 4000, 12_000].map((p99, round) => at(round, 'linux-default', p99)),
      // sita: 20x, 8x, 24x lower: every round agrees.
      ...[500, 500, 500].map((p99, round) => at(round, 'sita', p99)),
      // scan-avoid: 5x lower, 2x higher, 1.2x lower: the middle half straddles 1.
      ...[2000, 8000, 10_000].map((p99, round) => at(round, 'scan-avoid', p99)),
    ];
    expect(policySentences(rounds, 8000)).toEqual([
      'linux-default: GET p99 10 ms at 8000 req/s (median of 3 rounds, IQR 7.0-11 ms), with no program attached (the kernel hashes each flow to a socket).',
      "sita: GET p99 0.50 ms at 8000 req/s (median of 3 rounds, IQR 0.50-0.50 ms), 20x lower than linux-default (median of 3 rounds' ratios).",
      'scan-avoid: GET p99 8.0 ms at 8000 req/s (median of 3 rounds, IQR 5.0-9.0 ms), but its rounds disagree too much to compare it with linux-default: the host was too noisy to conclude (try again when it is quieter).',
    ]);
    // No ratio is printed when the rounds disagree.
    expect(policySentences(rounds, 8000)[2]).not.toMatch(/\dx/);
    // Nor when the load generator fell behind in a compared run, however well the rounds agree.
    const late = { cpu: 1, gcPauses: { count: 0, totalMs: 0, maxMs: 0 }, runQueueWaitMs: 2500, schedule: { maxLatenessUs: 90_000, p99LatenessUs: 40_000, fellBehind: true } };
    const behind = rounds.map((r) => (r.policy === 'sita' && r.repeat === 1 ? { ...r, loadgen: late } : r));
    expect(policySentences(behind, 8000)[1]).toBe(
      'sita: GET p99 0.50 ms at 8000 req/s (median of 3 rounds, IQR 0.50-0.50 ms), but the load generator fell behind its schedule in these runs, so the host was too busy to compare it with linux-default (try again when it is quieter).',
    );
  });

  it('writes the documented JSON shape', () => {
    const experiment = EXPERIMENTS['scan-mix'];
    const runs = [run('linux-default', 8000, 20_000), run('sita', 8000, 1000), run('scan-avoid', 8000, 2000)];
    const results = experimentResults(experiment, { runs, allRuns: runs, verdict: scanMixVerdict(experiment, runs) }, resultsContext('scan-mix'));
    const json = JSON.parse(JSON.stringify(results)) as Record<string, unknown>;
    expect(json).toMatchObject({
      experiment: 'scan-mix',
      commit: 'abc',
      command: 'node apps/bench/bin/experiment.mjs --experiment scan-mix',
      machine: { cpus: 2, model: 'm', kernel: '6.18', node: 'v24' },
      startedAt: '2026-01-01T00:00:00.000Z',
      verdict: { target: experiment.target, measuredRatio: 10, met: true },
    });
    for (const r of json['runs'] as Array<Record<string, unknown>>) {
      for (const key of ['policy', 'offeredRps', 'achievedRps', 'getP50Us', 'getP99Us', 'getP999Us', 'scanP99Us', 'dropped', 'valid']) expect(r).toHaveProperty(key);
    }
  });

  it('writes <experiment>.txt: the report with the host steal, ending with the verdict line', async () => {
    const experiment = EXPERIMENTS['scan-mix'];
    const runs = [0, 1, 2].flatMap((round) =>
      [run('linux-default', 8000, 20_000), run('sita', 8000, 1000), run('scan-avoid', 8000, 4000)].map((r) => ({ ...r, repeat: round, hostStealMs: [30, 0] })),
    );
    const results = experimentResults(experiment, { runs: reportedRuns(runs, experiment.policies), allRuns: runs, verdict: scanMixVerdict(experiment, runs) }, resultsContext('scan-mix'));
    const dir = await mkdtemp(join(tmpdir(), 'bench-results-'));
    try {
      const paths = await writeExperimentResults(dir, results);
      const txt = await readFile(paths.txtPath, 'utf8');
      expect(txt).toBe(paths.report);
      expect(txt).toContain('host steal per run');
      expect(txt).toContain('p99 IQR');
      expect(txt.trimEnd().split('\n').at(-1)).toBe('verdict: NOT MET (measured ratio 5)');
      expect(JSON.parse(await readFile(paths.jsonPath, 'utf8'))).toMatchObject({ verdict: { met: false, measuredRatio: 5 } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives the server every CPU but the load generator\'s', () => {
    expect(defaultCpus(2)).toEqual({ loadgenCpu: 1, serverCpus: '0' });
    expect(defaultCpus(4, 0)).toEqual({ loadgenCpu: 0, serverCpus: '1,2,3' });
    expect(defaultCpus(1)).toEqual({ loadgenCpu: 0, serverCpus: undefined });
  });
});
