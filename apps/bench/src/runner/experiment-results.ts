import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeLatencyPlot, type PlotPoint } from '../plot/latency-plot.js';
import { experimentReport } from './experiment-report.js';
import { EXPERIMENTS, type Experiment } from './experiments.js';
import type { MachineInfo } from './machine-info.js';
import type { RunSettings } from './measure-run.js';
import type { ExperimentResults } from './experiment-document.js';
import type { ExperimentOutcome } from './experiment-outcome.js';
import type { RunRecord } from './run-record.js';
import type { Verdict } from './verdicts.js';

export type { ExperimentResults } from './experiment-document.js';

export function experimentResults(
  experiment: Experiment,
  outcome: ExperimentOutcome,
  context: { commit: string; dirty: boolean; command: string; machine: MachineInfo; startedAt: Date; settings: ExperimentResults['settings'] },
): ExperimentResults {
  return {
    experiment: experiment.name,
    description: experiment.description,
    commit: context.commit,
    dirty: context.dirty,
    command: context.command,
    machine: context.machine,
    startedAt: context.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    settings: context.settings,
    runs: outcome.runs,
    allRuns: outcome.allRuns,
    ...(outcome.saturation === undefined ? {} : { saturation: outcome.saturation }),
    verdict: outcome.verdict,
  };
}

/**
 * The plotted points: GET p99 per policy over offered load, with the spread over rounds;
 * token-qos adds its saturation sweep and one series per policy and user.
 */
export function plotPoints(results: Pick<ExperimentResults, 'runs' | 'saturation'>): PlotPoint[] {
  const points: PlotPoint[] = [];
  // token-qos: the saturation sweep (both users together), GET p99 over answered requests.
  for (const run of results.saturation?.runs ?? []) {
    if (run.getP99Us !== null) points.push({ series: `${run.policy} (saturation sweep)`, offeredRps: run.offeredRps, latencyMs: run.getP99Us / 1000, valid: run.valid });
  }
  for (const run of results.runs) {
    if (run.users !== undefined && results.saturation !== undefined) {
      // Each user at its own offered load, so the two users' points do not hide each other; drops are the point here, so none is hollow.
      for (const [id, user] of Object.entries(run.users)) {
        const spread = run.userP99Spread?.[id];
        const bars = spread !== undefined && spread.count > 1 ? { lowMs: spread.q1 / 1000, highMs: spread.q3 / 1000 } : {};
        points.push({ series: `${run.policy}, user ${id}`, offeredRps: user.offeredRps, latencyMs: user.p99Us / 1000, valid: true, ...bars });
      }
    } else if (run.getP99Us !== null) {
      const spread = run.getP99Spread !== undefined && run.getP99Spread.count > 1 ? { lowMs: run.getP99Spread.q1 / 1000, highMs: run.getP99Spread.q3 / 1000 } : {};
      points.push({ series: run.workload === undefined ? run.policy : `${run.policy} [${run.workload}]`, offeredRps: run.offeredRps, latencyMs: (run.getP99Spread?.median ?? run.getP99Us) / 1000, valid: run.valid, ...spread });
    }
  }
  return points;
}

/** Writes `<dir>/<experiment>.txt` (the report, ending with the verdict line), `.json`, `.svg` and `.png`; returns their paths and the report. */
export async function writeExperimentResults(
  dir: string,
  results: ExperimentResults,
): Promise<{ report: string; txtPath: string; jsonPath: string; svgPath: string; pngPath: string }> {
  await mkdir(dir, { recursive: true });
  const base = join(dir, results.experiment);
  const jsonPath = `${base}.json`;
  await writeFile(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  const report = experimentReport(results);
  const txtPath = `${base}.txt`;
  await writeFile(txtPath, report);
  const { svgPath, pngPath } = await writeLatencyPlot(base, plotPoints(results), {
    title: results.experiment,
    subtitle: results.description,
    yTitle: results.saturation === undefined ? 'GET p99 (ms)' : 'p99 over answered requests (ms)',
    // The latency bound the experiment judges by: mica's 5 ms, 1 ms elsewhere.
    boundMs: results.experiment === EXPERIMENTS.mica.name ? EXPERIMENTS.mica.p99BoundUs / 1000 : 1,
  });
  return { report, txtPath, jsonPath, svgPath, pngPath };
}
