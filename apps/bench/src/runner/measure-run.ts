import { SyrupError } from '@syrup/core';
import type { UserStream } from '../loadgen/arrival-schedule.js';
import { kvServerArgs, type KvServerOptions } from '../server/kv-server-options.js';
import type { ServerSpec } from './experiments.js';
import { freeUdpPort } from './free-udp-port.js';
import { readStealMs, stealBetween } from './host-steal.js';
import { runLoadgenProcess } from './loadgen-process.js';
import { toRunRecord, type RunRecord } from './run-record.js';
import { ServerStartAborted, startServerProcess } from './server-process.js';
import { threadCpuMs } from './thread-cpu.js';

/** How every run of an experiment is measured. */
export interface RunSettings {
  readonly durationS: number;
  readonly warmupS: number;
  readonly graceMs: number;
  /** taskset CPU list for the server, undefined to leave it free. */
  readonly serverCpus?: string;
  readonly loadgenCpu: number;
  readonly seed: number;
}

export interface RunSpec {
  readonly server: ServerSpec;
  /** The server's --policy. */
  readonly policy: string;
  /** The run's name in its record (`policy` unless given: cross-layer names its configurations). */
  readonly label?: string;
  /** More server options (token-qos: tokenRate, lsUser, beUsers). */
  readonly serverOptions?: Partial<KvServerOptions>;
  readonly users: readonly UserStream[];
  readonly flows: number;
  readonly mix: string;
  readonly repeat: number;
  /** Run the load generator in a session (autogroup) of its own (see runLoadgenProcess); cross-layer does. */
  readonly loadgenInOwnSession?: boolean;
}

/**
 * An experiment that cannot go on because of what it measured (not a bug): the runner prints
 * its message as one sentence and exits 1, with nothing written.
 */
export class ExperimentCannotProceed extends SyrupError<'EXPERIMENT_CANNOT_PROCEED'> {
  override readonly name = 'ExperimentCannotProceed';

  constructor(message: string) {
    super('EXPERIMENT_CANNOT_PROCEED', message);
  }
}

/** The run was stopped by a signal (Ctrl-C): the runner writes nothing and exits 130. */
export class RunAborted extends SyrupError<'RUN_ABORTED'> {
  override readonly name = 'RunAborted';

  constructor() {
    super('RUN_ABORTED', 'the experiment was interrupted');
  }
}

/**
 * One run: a fresh server process with the policy (it deploys it on its own sockets and
 * undeploys on stop), the load generator against it, then the server stopped — always, also
 * when the run fails or is interrupted. When the server runs a thread policy, the CPU its
 * agent's threads used over the load generator's run is recorded (`agentCpuShare`).
 */
export async function measureRun(spec: RunSpec, settings: RunSettings, signal?: AbortSignal): Promise<RunRecord> {
  if (signal?.aborted === true) throw new RunAborted();
  const port = await freeUdpPort();
  const serverArgs = kvServerArgs({ port, ...spec.server, policy: spec.policy, ...spec.serverOptions });
  let server;
  try {
    server = await startServerProcess(serverArgs, settings.serverCpus, signal);
  } catch (error) {
    if (error instanceof ServerStartAborted) throw new RunAborted();
    throw error;
  }
  let stopped;
  let report;
  let stealBefore: number[] | undefined;
  let stealAfter: number[] | undefined;
  const agentTids = server.ready.agentTids ?? [];
  const agentCpuMs = (): number => agentTids.reduce((sum, tid) => sum + (threadCpuMs(server.pid, tid) ?? 0), 0);
  let agentBefore = 0;
  let agentAfter = 0;
  let loadStartedAt = 0;
  let loadMs = 0;
  try {
    if ((signal as AbortSignal | undefined)?.aborted === true) throw new RunAborted();
    stealBefore = readStealMs();
    agentBefore = agentCpuMs();
    loadStartedAt = performance.now();
    report = await runLoadgenProcess(
      [
        '--port', String(port),
        ...spec.users.flatMap((u) => ['--user', `${u.user}:${u.rate}`]),
        '--flows', String(spec.flows),
        '--mix', spec.mix,
        '--duration', String(settings.durationS),
        '--warmup', String(settings.warmupS),
        '--grace', String(settings.graceMs),
        '--cpu', String(settings.loadgenCpu),
        '--seed', String(settings.seed + spec.repeat),
      ],
      signal,
      { ownSession: spec.loadgenInOwnSession === true },
    );
    stealAfter = readStealMs();
    agentAfter = agentCpuMs();
    loadMs = performance.now() - loadStartedAt;
  } catch (error) {
    if ((signal as AbortSignal | undefined)?.aborted === true) throw new RunAborted();
    throw error;
  } finally {
    stopped = await server.stop();
  }
  // The signal may have fired while the run was under way (TypeScript still sees the entry check).
  if (report.aborted || (signal as AbortSignal | undefined)?.aborted === true) throw new RunAborted();
  const hostStealMs = stealBetween(stealBefore, stealAfter);
  return {
    ...toRunRecord(spec.label ?? spec.policy, report, stopped, spec.repeat),
    ...(hostStealMs === undefined ? {} : { hostStealMs }),
    ...(agentTids.length === 0 || loadMs <= 0 ? {} : { agentCpuShare: Math.round(((agentAfter - agentBefore) / loadMs) * 1000) / 1000 }),
  };
}
