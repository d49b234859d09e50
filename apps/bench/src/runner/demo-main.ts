import { probeFeature } from '@syrup/backend-ebpf/features';
import { Command, CommanderError } from 'commander';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCpus } from './cpu-split.js';
import { experimentResults, writeExperimentResults } from './experiment-results.js';
import { EXPERIMENTS } from './experiments.js';
import { formatHostSteal } from './host-steal.js';
import { gitCommit, gitDirty, machineInfo } from './machine-info.js';
import { RunAborted, type RunSettings } from './measure-run.js';
import { policySentences } from './policy-sentences.js';
import { progressBar } from './progress-bar.js';
import { formatResultsTable } from './results-table.js';
import { runExperiment } from './run-experiment.js';

/*
 * `npm run demo`: a short scan-mix comparison (4 policies x 2 loads x 3 interleaved rounds of
 * ~10 s, about four minutes) that ends with the table, the plot's path and one sentence per
 * policy, each comparison the median of the rounds' ratios or, when the rounds disagree, a
 * sentence saying the host was too noisy to conclude. Without BPF
 * privileges it says what is missing in one sentence and exits 1. Ctrl-C stops the current
 * run (its server undeploys before exiting), so nothing is left behind, and exits 130.
 */

const REPOSITORY_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** Rounds of the demo (--quick: one): every policy at every load once per round, side by side. */
const DEMO_ROUNDS = 3;

interface Flags {
  quick: boolean;
  out: string;
}

function parse(argv: readonly string[]): Flags | number {
  try {
    const program = new Command('demo')
      .description('Short scan-mix comparison of linux-default, round-robin, scan-avoid and sita.')
      .option('--quick', 'one light load, 1 s runs (a smoke test of the whole path)', false)
      .option('--out <dir>', 'where the JSON and plots go', join(tmpdir(), 'syrup-demo'))
      .exitOverride()
      .configureOutput({ writeErr: () => undefined });
    program.parse([...argv], { from: 'user' });
    return program.opts<Flags>();
  } catch (error) {
    if (error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.help')) return 0;
    process.stderr.write(`demo: ${error instanceof Error ? error.message.replace(/^error: /, '') : String(error)}\n`);
    return 2;
  }
}

/** Why socket-select programs cannot be attached here, or undefined when they can. */
export function missingPrivilege(): string | undefined {
  const bpf = probeFeature('bpf-syscall');
  if (!bpf.available) return 'the demo needs root or CAP_BPF+CAP_NET_ADMIN to attach socket-select programs (it could not create a BPF map).';
  const reuseport = probeFeature('sk-reuseport');
  if (!reuseport.available) return `the demo needs SK_REUSEPORT programs, which this kernel or process refuses: ${reuseport.reason ?? 'no reason given'}`;
  return undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  const flags = parse(argv);
  if (typeof flags === 'number') return flags;
  const missing = missingPrivilege();
  if (missing !== undefined) {
    process.stderr.write(`demo: ${missing}\n`);
    return 1;
  }
  const experiment = EXPERIMENTS['scan-mix'];
  const loads = flags.quick ? [2000] : [4000, 8000];
  const cpus = defaultCpus(availableParallelism());
  const settings: RunSettings = {
    durationS: flags.quick ? 1 : 8,
    warmupS: 1,
    graceMs: 1000,
    ...(cpus.serverCpus === undefined ? {} : { serverCpus: cpus.serverCpus }),
    loadgenCpu: cpus.loadgenCpu,
    seed: 1,
  };
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.stdout.write(`Syrup demo: ${experiment.description}.\n`);
  const rounds = flags.quick ? 1 : DEMO_ROUNDS;
  process.stdout.write(
    `Each policy gets a fresh server at ${loads.join(' and ')} req/s for ${settings.durationS} s, in ${rounds} interleaved round${rounds > 1 ? 's' : ''} (load generator on CPU ${settings.loadgenCpu}).\n`,
  );
  const startedAt = new Date();
  const bar = progressBar(stop.signal);
  let outcome;
  try {
    outcome = await runExperiment(experiment, { quick: true, repeats: rounds, loads }, settings, bar);
  } catch (error) {
    bar.stop();
    if (error instanceof RunAborted) {
      process.stderr.write('demo: interrupted; the server undeployed its policy and stopped.\n');
      return 130;
    }
    throw error;
  }
  bar.stop();
  const results = experimentResults(experiment, outcome, {
    commit: gitCommit(REPOSITORY_ROOT),
    dirty: gitDirty(REPOSITORY_ROOT),
    command: `npm run demo${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    machine: machineInfo(),
    startedAt,
    settings: { ...settings, repeats: rounds, quick: true },
  });
  const paths = await writeExperimentResults(flags.out, results);
  process.stdout.write(`\n${formatResultsTable(outcome.runs)}\n\n`);
  process.stdout.write(`plot: ${paths.pngPath} (and ${paths.svgPath}); data: ${paths.jsonPath}\n\n`);
  const steal = formatHostSteal(outcome.allRuns);
  if (steal !== undefined) process.stdout.write(`${steal}\n\n`);
  for (const sentence of policySentences(outcome.allRuns, Math.max(...loads))) process.stdout.write(`${sentence}\n`);
  return 0;
}

process.exit(await main(process.argv.slice(2)));
