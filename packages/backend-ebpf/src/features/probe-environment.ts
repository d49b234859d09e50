import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * What the capability probe needs besides system calls: reading procfs files and running
 * `ip` to make a throwaway network namespace. Injected so that a test can show every
 * "unavailable" answer on a machine where everything is available.
 */
export interface ProbeEnvironment {
  readFile(path: string): string;
  /** Runs a command to completion; throws when it cannot start or exits non-zero. */
  run(command: string, args: readonly string[]): void;
}

export const SYSTEM_PROBE_ENVIRONMENT: ProbeEnvironment = {
  readFile: (path) => readFileSync(path, 'utf8'),
  run: (command, args) => {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  },
};
