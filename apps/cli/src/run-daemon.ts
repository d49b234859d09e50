import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UsageError } from './cli-io.js';
import type { StageProgress } from './stage-progress.js';
import { waitForDaemon } from './wait-for-daemon.js';

/** How long the progress display waits for a starting daemon to listen before it gives up showing it. */
const LISTEN_WAIT_MS = 60_000;

/**
 * `syrup daemon`: runs syrupd in the foreground, in its own process. The CLI depends on
 * @syrup/syrupd (installing the CLI brings the daemon) but never imports it: it finds the
 * installed package (a workspace sibling in the clone) and runs its bin with the same Node,
 * which runs syrupd's built dist/ (the clone's unbuilt sources otherwise), passing signals on.
 * With a progress display (stderr is a terminal), it shows the start until syrupd answers on
 * `socketPath`.
 */
export async function runDaemon(args: readonly string[], socketPath: string, progress?: StageProgress): Promise<number> {
  let bin: string;
  try {
    const require = createRequire(import.meta.url);
    bin = join(dirname(require.resolve('@syrup/syrupd/package.json')), 'bin', 'syrupd.mjs');
  } catch {
    throw new UsageError('syrupd is not installed next to the CLI (package @syrup/syrupd), so `syrup daemon` cannot start it.');
  }
  progress?.stage('start');
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const exited = new Promise<number>((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(signal !== null ? 1 : (code ?? 1));
    });
  });
  if (progress !== undefined) {
    progress.stage('listen');
    let done = false;
    void exited.then(() => (done = true));
    // Only the display depends on this wait: the daemon runs on whether or not it answers in time.
    await waitForDaemon(socketPath, LISTEN_WAIT_MS, () => done).catch(() => undefined);
    progress.stop();
  }
  return exited;
}
