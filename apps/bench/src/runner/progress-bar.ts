import cliProgress from 'cli-progress';
import type { ExperimentProgress } from './experiment-outcome.js';
import type { RunRecord } from './run-record.js';

const ms = (us: number | null): string => (us === null ? '-' : `${(us / 1000).toFixed(2)} ms`);

/**
 * A cli-progress bar on stderr for a sweep (stdout stays for the table). Off a terminal it
 * prints one line per run instead, so logs of scripted runs still show progress.
 */
export function progressBar(signal: AbortSignal): ExperimentProgress & { stop(): void } {
  const tty = process.stderr.isTTY;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{bar} {value}/{total} runs | {label} | last: {last}', hideCursor: true, clearOnComplete: false, noTTYOutput: false },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let label = '';
  let done = 0;
  let total = 0;
  return {
    signal,
    onPlan(n) {
      total = n;
      if (!tty) return;
      if (started) bar.setTotal(n);
      else bar.start(n, 0, { label: 'starting', last: '-' });
      started = true;
    },
    onRunStart(next) {
      label = next;
      if (tty) bar.update({ label });
    },
    onRunDone(run: RunRecord) {
      done++;
      const last = `${run.policy} @ ${Math.round(run.offeredRps)}/s: GET p99 ${ms(run.getP99Us)}, achieved ${Math.round(run.achievedRps)}/s${run.valid ? '' : ' (invalid)'}`;
      if (tty) bar.update(done, { label, last });
      else process.stderr.write(`[${done}/${total}] ${last}\n`);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
