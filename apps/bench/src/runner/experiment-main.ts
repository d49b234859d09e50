import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { defaultCpus } from './cpu-split.js';
import { experimentResults, writeExperimentResults } from './experiment-results.js';
import { defaultDurationS, EXPERIMENTS, selectExperiments, type Experiment } from './experiments.js';
import { gitCommit, gitDirty, machineInfo } from './machine-info.js';
import { ExperimentCannotProceed, RunAborted, type RunSettings } from './measure-run.js';
import { progressBar } from './progress-bar.js';
import { runExperiment } from './run-experiment.js';

/*
 * bin/experiment.mjs: runs one experiment (or all) in interleaved rounds, prints its report
 * (tables, host steal, verdict) on stdout, writes <out>/<experiment>.txt (the same report,
 * ending with the verdict line), .json, .svg and .png. Ctrl-C stops the current
 * run (the server undeploys), writes nothing, and exits 130. A user mistake exits 2.
 */

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DEFAULT_OUT = fileURLToPath(new URL('../../results/', import.meta.url));
/** Rounds per experiment unless --repeats or --quick says otherwise (the minimum for committed results). */
const ROUNDS_FOR_RESULTS = 5;

const number = (name: string, min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) throw new InvalidArgumentError(`${name} must be a number >= ${min}`);
  return n;
};
const list = (value: string): string[] => value.split(',').map((s) => s.trim()).filter((s) => s !== '');

interface Flags {
  experiment: string;
  duration?: number;
  warmup?: number;
  repeats?: number;
  quick: boolean;
  out: string;
  loads?: string[];
  policies?: string[];
  serverCpus?: string;
  loadgenCpu?: number;
  grace: number;
  seed: number;
}

function command(): Command {
  return new Command('experiment')
    .description('Runs the bench comparisons side by side: table on stdout, JSON + SVG/PNG plot in --out.')
    .requiredOption('--experiment <name>', `${Object.keys(EXPERIMENTS).join(', ')} or all`)
    .option('--duration <s>', 'measured seconds per run (default 10, token-qos 20, mica 5, --quick 4)', number('--duration', 0.1))
    .option('--warmup <s>', 'warm-up seconds per run (default 2, --quick 1)', number('--warmup', 0))
    .option('--repeats <n>', 'interleaved rounds: every policy at every point once per round, medians and IQR reported (default 5, --quick 1)', number('--repeats', 1))
    .option('--quick', 'fewer loads, shorter runs, one repeat', false)
    .option('--out <dir>', 'where the JSON and plots go', DEFAULT_OUT)
    .option('--loads <list>', 'offered loads in req/s, comma-separated (token-qos and mica: the saturation sweeps, ascending)', (v) => list(v))
    .option('--policies <list>', 'policies (cross-layer: configurations), comma-separated', (v) => list(v))
    .option('--server-cpus <list>', "taskset CPU list for the server; 'all' leaves it free (default: every CPU but the loadgen's)")
    .option('--loadgen-cpu <n>', 'CPU the load generator pins itself to (default: the last)', number('--loadgen-cpu', 0))
    .option('--grace <ms>', 'loadgen grace period before unanswered requests count as dropped', number('--grace', 0), 1000)
    .option('--seed <n>', 'arrival schedule seed', number('--seed', 0), 1)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
}

async function main(argv: readonly string[]): Promise<number> {
  let flags: Flags;
  try {
    const program = command();
    program.parse([...argv], { from: 'user' });
    flags = program.opts<Flags>();
    if (selectExperiments(flags.experiment) === undefined) {
      throw new InvalidArgumentError(`--experiment must be one of ${Object.keys(EXPERIMENTS).join(', ')} or all, not "${flags.experiment}"`);
    }
    if (flags.loads?.some((l) => !(Number(l) > 0)) === true) throw new InvalidArgumentError('--loads must be positive numbers');
  } catch (error) {
    if (error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.help')) return 0;
    const message = error instanceof Error ? error.message.replace(/^error: /, '').replace(/^.*? is invalid\. /, '') : String(error);
    process.stderr.write(`experiment: ${message}\n`);
    return 2;
  }
  const names = selectExperiments(flags.experiment)!;
  const cpus = defaultCpus(availableParallelism(), flags.loadgenCpu);
  const serverCpus = flags.serverCpus === 'all' ? undefined : (flags.serverCpus ?? cpus.serverCpus);
  // The run length depends on the experiment (defaultDurationS), so it is added per experiment below.
  const baseSettings: Omit<RunSettings, 'durationS'> = {
    warmupS: flags.warmup ?? (flags.quick ? 1 : 2),
    graceMs: flags.grace,
    ...(serverCpus === undefined ? {} : { serverCpus }),
    loadgenCpu: cpus.loadgenCpu,
    seed: flags.seed,
  };
  const stop = new AbortController();
  // A terminal's Ctrl-C also reaches the server and loadgen children (same process group); they stop cleanly on their own.
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const commandLine = `node apps/bench/bin/experiment.mjs ${argv.join(' ')}`.trim();
  for (const name of names) {
    const experiment: Experiment = EXPERIMENTS[name];
    const settings: RunSettings = { ...baseSettings, durationS: flags.duration ?? defaultDurationS(experiment, flags.quick) };
    const startedAt = new Date();
    // Committed results need at least ROUNDS_FOR_RESULTS rounds: the median and IQR over them are what is judged.
    const repeats = flags.repeats ?? (flags.quick ? 1 : ROUNDS_FOR_RESULTS);
    process.stdout.write(`\n== ${name}: ${repeats} interleaved round(s) of ${settings.durationS} s runs\n`);
    const bar = progressBar(stop.signal);
    let outcome;
    try {
      outcome = await runExperiment(experiment, { quick: flags.quick, repeats, ...(flags.loads === undefined ? {} : { loads: flags.loads.map(Number) }), ...(flags.policies === undefined ? {} : { policies: flags.policies }) }, settings, bar);
    } catch (error) {
      bar.stop();
      if (error instanceof RunAborted) {
        process.stderr.write('experiment: interrupted; the server was stopped and nothing was written.\n');
        return 130;
      }
      if (error instanceof ExperimentCannotProceed) {
        process.stderr.write(`experiment: ${name}: ${error.message}; nothing was written.\n`);
        return 1;
      }
      throw error;
    }
    bar.stop();
    const results = experimentResults(experiment, outcome, {
      commit: gitCommit(REPOSITORY_ROOT),
      dirty: gitDirty(REPOSITORY_ROOT),
      command: commandLine,
      machine: machineInfo(),
      startedAt,
      settings: { ...settings, repeats, quick: flags.quick },
    });
    const paths = await writeExperimentResults(flags.out, results);
    process.stdout.write(`\n${paths.report}`);
    process.stdout.write(`wrote ${paths.txtPath}, ${paths.jsonPath}, ${paths.svgPath}, ${paths.pngPath}\n`);
  }
  return 0;
}

process.exit(await main(process.argv.slice(2)));
