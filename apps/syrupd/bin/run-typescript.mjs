// Runs a TypeScript entry point of this repository without a build step: a child Node with
// tsx's loader and the `source` export condition, so workspace packages resolve to their
// TypeScript sources. The clone's fallback only: an installed package runs its built dist/.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { pathToFileURL } from 'node:url';

/** `entry` is a .ts file; `tsconfig` the package's (tsx otherwise looks in the cwd, which may be anywhere); `env` is added to the child's environment. */
export function runTypeScript(entry, tsconfig, env = {}) {
  const require = createRequire(import.meta.url);
  const tsx = pathToFileURL(require.resolve('tsx')).href;
  const child = spawn(process.execPath, ['--conditions=source', '--import', tsx, entry, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, ...env, TSX_TSCONFIG_PATH: tsconfig },
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
