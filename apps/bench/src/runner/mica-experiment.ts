import type { MicaMode } from '../mica/mica-worker-protocol.js';
import type { MicaReadyLine, MicaStoppedLine } from '../mica/mica-server.js';
import { threadCpuMs } from './thread-cpu.js';
import { BenchNamespaces } from './bench-namespaces.js';
import type { MicaExperiment } from './experiments.js';
import { readStealMs, stealBetween } from './host-steal.js';
import { busyBetween, readCpuTimes, type CpuTimes } from './cpu-busy.js';
import { runLoadgenProcess } from './loadgen-process.js';
import { RunAborted, type RunSettings } from './measure-run.js';
import type { ExperimentOutcome, ExperimentPlanOptions, ExperimentProgress } from './experiment-outcome.js';
import { toRunRecord, type RunRecord } from './run-record.js';
import { SaturationSearch } from './saturation.js';
import { ServerStartAborted, startServerProcess } from './server-process.js';
import { micaSustains, micaVerdict } from './verdicts.js';

const MICA_SERVER = new URL('../mica/mica-server-main.ts', import.meta.url);
/** The server's UDP port inside its own namespace (nothing else listens there). */
const MICA_PORT = 9100;

/** The two configurations, named as the table and the verdict name them. */
export const MICA_CONFIGS: ReadonlyArray<{ readonly label: string; readonly mode: MicaMode }> = [
  { label: 'syrup key-hash', mode: 'key-hash' },
  { label: 'mica handoff', mode: 'handoff' },
];

/**
 * One MICA run: a fresh server process in the server's namespace (it deploys its policy at
 * xdp-drv and undeploys when stopped), the load generator in the peer namespace, then the
 * server stopped, always.
 */
async function measureMicaRun(
  experiment: MicaExperiment,
  namespaces: BenchNamespaces,
  config: (typeof MICA_CONFIGS)[number],
  workload: MicaExperiment['workloads'][number],
  load: number,
  round: number,
  settings: RunSettings,
  signal?: AbortSignal,
): Promise<RunRecord> {
  const args = [
    '--interface', namespaces.serverInterface,
    '--port', String(MICA_PORT),
    '--threads', String(experiment.threads),
    '--mode', config.mode,
    '--keys', String(experiment.keys),
    '--value-size', String(experiment.valueSize),
    '--frames', String(experiment.frames),
  ];
  let server;
  try {
    server = await startServerProcess<MicaReadyLine, MicaStoppedLine>(args, settings.serverCpus, signal, { entry: MICA_SERVER, netns: namespaces.serverNamespace });
  } catch (error) {
    if (error instanceof ServerStartAborted) throw new RunAborted();
    throw error;
  }
  let report;
  let stopped: MicaStoppedLine | undefined;
  let cpuTimesBefore: CpuTimes | undefined;
  let cpuTimesAfter: CpuTimes | undefined;
  const stealBefore = readStealMs();
  // CPU time of the server's threads over the load generator's whole run (its start-up, warm-up, window and grace).
  const { pid, tids } = server.ready;
  const cpu = (): number[] => [pid, ...tids].map((tid) => threadCpuMs(pid, tid) ?? 0);
  const cpuBefore = cpu();
  const startedAt = performance.now();
  let cpuAfter = cpuBefore;
  let wallMs = 0;
  try {
    cpuTimesBefore = readCpuTimes();
    report = await runLoadgenProcess(
      [
        '--host', namespaces.serverAddress,
        '--port', String(MICA_PORT),
        '--rate', String(load),
        '--flows', String(experiment.flows),
        '--mix', workload.mix,
        '--keys', String(experiment.keys),
        '--duration', String(settings.durationS),
        '--warmup', String(settings.warmupS),
        '--grace', String(settings.graceMs),
        '--cpu', String(settings.loadgenCpu),
        '--seed', String(settings.seed + round),
        // UDP sockets cost the generator's one CPU more per request than the server spends
        // serving it, so with them the search found the generator's limit, not the server's.
        '--transport', 'af-xdp',
      ],
      signal,
      { netns: namespaces.loadgenNamespace },
    );
    cpuAfter = cpu();
    cpuTimesAfter = readCpuTimes();
    wallMs = performance.now() - startedAt;
  } catch (error) {
    if (signal?.aborted === true) throw new RunAborted();
    throw error;
  } finally {
    stopped = await server.stop();
  }
  if (report.aborted || signal?.aborted === true) throw new RunAborted();
  const hostStealMs = stealBetween(stealBefore, readStealMs());
  const cpuBusy = busyBetween(cpuTimesBefore, cpuTimesAfter);
  const record = toRunRecord(config.label, report, undefined, round);
  return {
    ...record,
    workload: workload.name,
    round,
    ...(stopped === undefined ? {} : { mica: micaFacts(stopped, cpuAfter.map((after, i) => after - (cpuBefore[i] ?? 0)), wallMs, cpuBusy) }),
    ...(hostStealMs === undefined ? {} : { hostStealMs }),
  };
}

/**
 * A run's server facts: each thread's CPU share (`cpuMs`: the main thread's, then each
 * worker's, over `wallMs`), the worker CPU per request served, the handoffs, the sockets'
 * kernel drops and how busy each CPU was.
 */
function micaFacts(stopped: MicaStoppedLine, cpuMs: readonly number[], wallMs: number, cpuBusy: readonly number[] | undefined): NonNullable<RunRecord['mica']> {
  const served = stopped.perWorker.reduce((s, w) => s + w.SERVED, 0);
  const share = (ms: number): number => (wallMs > 0 ? Math.round((ms / wallMs) * 1000) / 1000 : 0);
  const workerMs = cpuMs.slice(1).reduce((s, ms) => s + ms, 0);
  return {
    cpuShare: cpuMs.slice(1).map(share),
    mainCpuShare: share(cpuMs[0] ?? 0),
    cpuUsPerRequest: served === 0 ? 0 : Math.round(((workerMs * 1000) / served) * 100) / 100,
    handedOff: stopped.perWorker.reduce((s, w) => s + w.HANDED_OFF, 0),
    handoffHighWater: Math.max(...stopped.perWorker.map((w) => w.handoffHighWater)),
    served,
    dropped: stopped.perWorker.reduce((s, w) => s + w.DROPPED, 0),
    socketDropped: stopped.rxDropped,
    ...(cpuBusy === undefined ? {} : { cpuBusy }),
  };
}

export async function runMica(experiment: MicaExperiment, plan: ExperimentPlanOptions, settings: RunSettings, progress: ExperimentProgress): Promise<ExperimentOutcome> {
  const search = (): SaturationSearch =>
    plan.loads !== undefined
      ? SaturationSearch.over(plan.loads)
      : SaturationSearch.geometric({ start: plan.quick ? experiment.quickStartRps : experiment.startRps, coarseStep: experiment.coarseStep, fineStep: experiment.fineStep, maxLoads: experiment.maxLoads });
  const rounds = plan.repeats;
  // An estimate (a search's length depends on what it finds): about 10 loads per search here.
  let planned = rounds * experiment.workloads.length * MICA_CONFIGS.length * Math.min(plan.loads?.length ?? 10, 10);
  progress.onPlan?.(planned);
  let done = 0;
  const allRuns: RunRecord[] = [];
  using namespaces = BenchNamespaces.create();
  for (let round = 0; round < rounds; round++) {
    for (const workload of experiment.workloads) {
      // Side by side: each configuration's sweep in turn, the order rotated per round.
      for (let i = 0; i < MICA_CONFIGS.length; i++) {
        const config = MICA_CONFIGS[(i + round) % MICA_CONFIGS.length]!;
        const loads = search();
        for (let load = loads.next(); load !== undefined; load = loads.next()) {
          if (++done > planned) progress.onPlan?.((planned = done));
          progress.onRunStart?.(`round ${round + 1}/${rounds}, ${workload.name}: ${config.label} @ ${load}/s`);
          const run = await measureMicaRun(experiment, namespaces, config, workload, load, round, settings, progress.signal);
          allRuns.push(run);
          progress.onRunDone?.(run);
          loads.record(load, micaSustains(run, experiment.p99BoundUs));
        }
      }
    }
  }
  const verdict = micaVerdict(experiment, allRuns, rounds);
  // The reported runs: per workload and configuration, each load's median over the rounds.
  const runs = experiment.workloads.flatMap((workload) =>
    MICA_CONFIGS.flatMap((config) => {
      const mine = allRuns.filter((r) => r.workload === workload.name && r.policy === config.label);
      return [...new Set(mine.map((r) => r.offeredRps))].sort((a, b) => a - b).map((load) => medianOf(mine.filter((r) => r.offeredRps === load)));
    }),
  );
  return { runs, allRuns, verdict };
}

function medianOf(runs: readonly RunRecord[]): RunRecord {
  const sorted = [...runs].sort((a, b) => (a.getP99Us ?? Infinity) - (b.getP99Us ?? Infinity));
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, repeatsOfPoint: runs.length };
}
