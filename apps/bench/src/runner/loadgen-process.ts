import { text } from 'node:stream/consumers';
import type { LoadReport } from '../loadgen/load-report.js';
import { exited, spawnTypeScript, stderrTail } from './typescript-child.js';

const LOADGEN_ENTRY = new URL('../loadgen/main.ts', import.meta.url);

/**
 * Runs the load generator as its own process (it pins itself to a CPU and busy-polls, so it
 * must not share the runner's event loop) and returns its report. With `ownSession` it runs
 * in a session of its own, so its own autogroup: Linux splits an autogroup's CPU weight over
 * its CPUs by load, so a busy poller in the server's group leaves the server's threads on
 * their CPU little weight against other sessions' work (a terminal's Ctrl-C then reaches the
 * runner only, which stops it). Aborting `signal` sends it
 * SIGTERM; it then reports what it did so far, or the promise rejects if it printed nothing.
 */
export async function runLoadgenProcess(args: readonly string[], signal?: AbortSignal, options: { readonly netns?: string; readonly ownSession?: boolean } = {}): Promise<LoadReport> {
  if (signal?.aborted === true) throw new Error('the load generator was not started: already interrupted');
  // In a runner's namespace it is given --namespace too, so it may send to that namespace's veth peer.
  const netnsArgs = options.netns === undefined ? [] : ['--namespace', options.netns];
  const child = spawnTypeScript(LOADGEN_ENTRY, [...args, ...netnsArgs], { nodeFlags: ['--expose-gc'], ownSession: options.ownSession === true, ...(options.netns === undefined ? {} : { netns: options.netns }) });
  const onAbort = (): void => void child.kill('SIGTERM');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const [output] = await Promise.all([text(child.stdout!), exited(child)]);
    if (child.exitCode !== 0) throw new Error(`the load generator exited with ${child.exitCode ?? child.signalCode} (args: ${args.join(' ')}):\n${stderrTail(child)}`);
    return JSON.parse(output) as LoadReport;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited(child);
    }
  }
}
