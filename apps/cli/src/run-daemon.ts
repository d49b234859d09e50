import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UsageError } from './cli-io.js';

/**
 * `syrup daemon`: runs syrupd in the foreground. The CLI may depend only on the runtime, so
 * it does not import the daemon: it finds the installed @syrup/syrupd package (a workspace
 * sibling here) and runs its bin with the same Node, passing signals on.
 */
export function runDaemon(args: readonly string[]): Promise<number> {
  let bin: string;
  try {
    const require = createRequire(import.meta.url);
    bin = join(dirname(require.resolve('@syrup/syrupd/package.json')), 'bin', 'syrupd.mjs');
  } catch {
    throw new UsageError('syrupd is not installed next to the CLI (package @syrup/syrupd), so `syrup daemon` cannot start it.');
  }
  const child = spawn(process.execPath, [bin, ...args], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(signal !== null ? 1 : (code ?? 1));
    });
  });
}
