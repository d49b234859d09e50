import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { formatAgentCpu } from '../src/runner/agent-cpu.js';
import { crossLayerVerdict, perRoundRatios } from '../src/runner/cross-layer-verdict.js';
import { experimentResults, writeExperimentResults } from '../src/runner/experiment-results.js';
import { EXPERIMENTS } from '../src/runner/experiments.js';
import type { RunSpec } from '../src/runner/measure-run.js';
import type { RunRecord } from '../src/runner/run-record.js';
import { syntheticRun } from './support/synthetic-run.js';

/** Every measured run is made up here: the spec each run was asked for is kept, its GET p99 comes from `p99Of`. */
const measured: RunSpec[] = [];
let p99Of: (label: string, load: number) => number = () => 1000;
vi.mock('../src/runner/measure-run.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../src/runner/measure-run.js')>();
  return {
    ...original,
    measureRun: async (spec: RunSpec): Promise<RunRecord> => {
      measured.push(spec);
      const label = spec.label ?? spec.policy;
      const load = spec.users[0]!.rate;
      return { ...run(label, load, p99Of(label, load), spec.repeat), ...(spec.serverOptions?.threadPolicy === undefined ? {} : { agentCpuShare: 0.2 }) };
    },
  };
});
const { runCrossLayer, selectConfigurations } = await import('../src/runner/cross-layer-experiment.js');

const experiment = EXPERIMENTS['cross-layer'];
const settings = { durationS: 1, warmupS: 0, graceMs: 0, loadgenCpu: 1, serverCpus: '0', seed: 1 };

function run(policy: string, offeredRps: number, getP99Us: number, repeat = 0, overrides: Partial<RunRecord> = {}): RunRecord {
  return syntheticRun(policy, offeredRps, getP99Us, { scanP99Us: 3000, repeat, ...overrides });
}

/** Rounds of the four configurations at 6000 req/s with these GET p99s (us), one entry per round. */
function rounds(p99s: Record<string, readonly number[]>): RunRecord[] {
  return Object.entries(p99s).flatMap(([policy, values]) => values.map((p99, round) => run(policy, 6000, p99, round)));
}

describe('the cross-layer experiment', () => {
  it('names its four configurations as the issue does, with the socket-layer and thread policies each runs, at 6k and 12k', () => {
    expect(experiment.configurations).toEqual([
      { name: 'linux-default', policy: 'linux-default' },
      { name: 'scan-avoid', policy: 'scan-avoid' },
      { name: 'get-priority', policy: 'linux-default', threadPolicy: 'get-priority' },
      { name: 'both', policy: 'scan-avoid', threadPolicy: 'get-priority' },
    ]);
    expect(experiment).toMatchObject({ loads: [6000, 12_000], targetLoad: 6000, minRatio: 2.5, flows: 16, mix: 'get=0.99,scan=0.01' });
    expect(experiment.server).toEqual({ threads: 6, store: 'synthetic', get: 'cpu:10us', scan: 'cpu:1ms' });
  });

  it('runs every configuration at every load in interleaved rounds, each run named after its configuration', async () => {
    measured.length = 0;
    p99Of = (label) => ({ 'linux-default': 1000, 'scan-avoid': 1000, 'get-priority': 500, both: 300 })[label] ?? 0;
    const outcome = await runCrossLayer(experiment, { quick: false, repeats: 2 }, settings, {});
    expect(measured).toHaveLength(2 * 2 * 4);
    expect(measured.slice(0, 4).map((s) => [s.label, s.policy, s.serverOptions?.threadPolicy])).toEqual([
      ['linux-default', 'linux-default', undefined],
      ['scan-avoid', 'scan-avoid', undefined],
      ['get-priority', 'linux-default', 'get-priority'],
      ['both', 'scan-avoid', 'get-priority'],
    ]);
    expect(measured.every((s) => s.loadgenInOwnSession === true)).toBe(true);
    // The next point starts with the next configuration (the sweep's rotation).
    expect(measured[4]!.label).toBe('scan-avoid');
    expect(outcome.runs.map((r) => `${r.policy}@${r.offeredRps}`)).toEqual([
      'linux-default@6000', 'scan-avoid@6000', 'get-priority@6000', 'both@6000',
      'linux-default@12000', 'scan-avoid@12000', 'get-priority@12000', 'both@12000',
    ]);
    expect(outcome.verdict).toMatchObject({ met: true, measuredRatio: 3.33 });
  });

  it('takes a subset of configurations with --policies and refuses a name it does not have', () => {
    expect(selectConfigurations(experiment, ['both', 'linux-default']).map((c) => c.name)).toEqual(['linux-default', 'both']);
    expect(() => selectConfigurations(experiment, ['sita'])).toThrow('sita is not a configuration of cross-layer (linux-default, scan-avoid, get-priority, both)');
  });

  it('is met when both layers keep GET p99 2.5x lower than linux-default and no higher than either layer alone (medians of per-round ratios)', () => {
    const verdict = crossLayerVerdict(experiment, rounds({ 'linux-default': [1000, 1100, 900], 'scan-avoid': [1000, 1000, 1000], 'get-priority': [500, 400, 390], both: [360, 400, 300] }));
    expect(verdict.met).toBe(true);
    expect(verdict.measuredRatio).toBe(2.78);
    expect(verdict.details[0]).toBe('GET p99 at 6000 req/s, median over valid rounds: linux-default 1.00 ms, scan-avoid 1.00 ms, get-priority 0.40 ms, both 0.36 ms');
  });

  it('is not met below 2.5x, nor when a layer alone beats both, however far both is below linux-default', () => {
    expect(crossLayerVerdict(experiment, rounds({ 'linux-default': [1000, 1000, 1000], 'scan-avoid': [900, 900, 900], 'get-priority': [500, 500, 500], both: [450, 450, 450] }))).toMatchObject({ met: false, measuredRatio: 2.22 });
    const layerBetter = crossLayerVerdict(experiment, rounds({ 'linux-default': [1000, 1000, 1000], 'scan-avoid': [900, 900, 900], 'get-priority': [200, 250, 200], both: [300, 300, 300] }));
    expect(layerBetter).toMatchObject({ met: false, measuredRatio: 3.33 });
    expect(layerBetter.details).toContain("both: GET p99 0.67x (median of 3 rounds' ratios, IQR 0.67x-0.75x) lower than get-priority (no higher: at least 1x)");
  });

  it('judges only rounds whose runs are both valid, and is inconclusive (not met) on fewer than half of them', () => {
    const runs = rounds({ 'linux-default': [1000, 1000, 1000], 'scan-avoid': [1000, 1000, 1000], 'get-priority': [400, 400, 400], both: [300, 300, 300] }).map((r) =>
      r.policy === 'both' && r.repeat > 0 ? { ...r, valid: false, invalidReason: 'dropped 0.50% > 0.1%' } : r,
    );
    expect(perRoundRatios(runs, 6000, 'linux-default', 'both')).toEqual({ ratios: [1000 / 300], invalid: 2, rounds: 3 });
    const verdict = crossLayerVerdict(experiment, runs);
    expect(verdict).toMatchObject({ met: false, measuredRatio: null });
    expect(verdict.details).toContain('both against linux-default: 1 of 3 rounds could be compared, fewer than half: inconclusive; 2 of 3 rounds had a run failing the validity rule and were not judged');
  });

  it("reports the agent's CPU per configuration and load, over the rounds, only for runs with a thread policy", () => {
    expect(formatAgentCpu([run('linux-default', 6000, 1000)])).toBeUndefined();
    const runs = [0.1, 0.3, 0.2].map((share, round) => run('both', 6000, 300, round, { agentCpuShare: share }));
    expect(formatAgentCpu([run('linux-default', 6000, 1000), ...runs, run('get-priority', 12_000, 500, 0, { agentCpuShare: 0.4 })])).toBe(
      "agent CPU (the thread policy's agent threads in the server, share of one CPU over the load generator's run; median, range): both @ 6000/s 20.0% (10.0%-30.0%, 3 runs); get-priority @ 12000/s 40.0% (40.0%-40.0%, 1 runs)",
    );
  });

  it('writes its report with the agent CPU and the host steal, ending with the verdict line, and the agent CPU per run in the JSON', async () => {
    const allRuns = rounds({ 'linux-default': [1000, 1000, 1000], 'scan-avoid': [1000, 1000, 1000], 'get-priority': [400, 400, 400], both: [300, 300, 300] }).map((r) => ({
      ...r,
      hostStealMs: [20, 0],
      ...(r.policy === 'both' || r.policy === 'get-priority' ? { agentCpuShare: 0.15 } : {}),
    }));
    const results = experimentResults(experiment, { runs: allRuns.filter((r) => r.repeat === 1), allRuns, verdict: crossLayerVerdict(experiment, allRuns) }, {
      commit: 'abc',
      dirty: false,
      command: 'node apps/bench/bin/experiment.mjs --experiment cross-layer',
      machine: { cpus: 2, model: 'm', kernel: '6.18', node: 'v24' },
      startedAt: new Date('2026-01-01T00:00:00Z'),
      settings: { ...settings, durationS: 10, warmupS: 2, graceMs: 1000, repeats: 3, quick: false },
    });
    const dir = await mkdtemp(join(tmpdir(), 'bench-cross-layer-'));
    try {
      const paths = await writeExperimentResults(dir, results);
      const txt = await readFile(paths.txtPath, 'utf8');
      expect(txt).toContain('agent CPU');
      expect(txt).toContain('both @ 6000/s 15.0%');
      expect(txt).toContain('host steal per run');
      expect(txt.trimEnd().split('\n').at(-1)).toBe('verdict: MET (measured ratio 3.33)');
      const json = JSON.parse(await readFile(paths.jsonPath, 'utf8')) as { runs: RunRecord[]; verdict: { met: boolean } };
      expect(json.verdict.met).toBe(true);
      expect(json.runs.find((r) => r.policy === 'both')?.agentCpuShare).toBe(0.15);
      expect(json.runs.find((r) => r.policy === 'linux-default')).not.toHaveProperty('agentCpuShare');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
