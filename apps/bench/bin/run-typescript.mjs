// Runs a TypeScript entry point of the bench without a build step (as apps/cli does): a child
// Node with tsx's loader and the `source` export condition, so workspace packages resolve to
// their TypeScript sources.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const BENCH_TSCONFIG = fileURLToPath(new URL('../tsconfig.tsx.json', import.meta.url));

/** `entry` is a .ts file of apps/bench/src; `nodeFlags` go to node itself (such as --expose-gc). */
export function runTypeScript(entry, nodeFlags = []) {
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, [...nodeFlags, '--conditions=source', '--import', tsx, entry, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, TSX_TSCONFIG_PATH: BENCH_TSCONFIG },
  });
  // Signals sent to this process go on to the child, which shuts down cleanly; a terminal's
  // Ctrl-C reaches both, and the child treats a repeated signal as the same request.
  const forward = (signal) => child.kill(signal);
  process.on('SIGTERM', forward);
  process.on('SIGINT', forward);
  child.on('exit', (code, signal) => {
    process.exit(signal !== null ? 128 + (constants.signals[signal] ?? 0) : (code ?? 1));
  });
}
