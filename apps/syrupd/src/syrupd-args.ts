import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET_PATH, type RuntimeLimits } from '@syrup/runtime';
import { DEFAULT_PIN_ROOT, DEFAULT_STATE_DIR, DEFAULT_STATE_FILE } from './syrupd.js';

export interface SyrupdArgs {
  readonly socketPath: string;
  readonly pinRoot: string;
  readonly stateFile: string;
  readonly stateDir: string;
  /** Per-tenant limits from the flags given; absent flags keep the runtime's defaults. */
  readonly limits?: RuntimeLimits;
  /** `--backend` packages (names or directory paths) in order; empty means the project's own installed ones. */
  readonly backends: readonly string[];
}

/** The limit flags and the RuntimeLimits field each sets (see the runtime's service/limits). */
const LIMIT_FLAGS = {
  'max-deployments': 'maxDeployments',
  'max-map-bytes': 'maxMapBytes',
  'max-request-bytes': 'maxRequestBytes',
  'compile-timeout-ms': 'compileTimeoutMs',
  'max-queued-compiles': 'maxQueuedCompiles',
} as const satisfies Record<string, keyof RuntimeLimits>;

/**
 * `--backend <name-or-path>` (repeatable) and `--socket` / `--pin-root` / `--state-file` / `--state-dir`, the last four
 * falling back to $SYRUP_SOCKET / $SYRUP_PIN_ROOT / $SYRUP_STATE_FILE / $SYRUP_STATE_DIR, then the defaults.
 */
export function parseSyrupdArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SyrupdArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      socket: { type: 'string' },
      backend: { type: 'string', multiple: true },
      'pin-root': { type: 'string' },
      'state-file': { type: 'string' },
      'state-dir': { type: 'string' },
      'max-deployments': { type: 'string' },
      'max-map-bytes': { type: 'string' },
      'max-request-bytes': { type: 'string' },
      'compile-timeout-ms': { type: 'string' },
      'max-queued-compiles': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const limits: Record<string, number> = {};
  for (const [flag, field] of Object.entries(LIMIT_FLAGS)) {
    const text = values[flag as keyof typeof LIMIT_FLAGS];
    if (text === undefined) continue;
    // Zero makes no sense for any of them (no deployments, no request fits), so it is refused too.
    if (!/^\d+$/.test(text) || Number(text) === 0 || !Number.isSafeInteger(Number(text))) throw new Error(`--${flag} takes a positive integer, not '${text}'.`);
    limits[field] = Number(text);
  }
  return {
    ...(Object.keys(limits).length > 0 ? { limits: limits as RuntimeLimits } : {}),
    socketPath: values.socket ?? env['SYRUP_SOCKET'] ?? DEFAULT_SOCKET_PATH,
    pinRoot: values['pin-root'] ?? env['SYRUP_PIN_ROOT'] ?? DEFAULT_PIN_ROOT,
    stateFile: values['state-file'] ?? env['SYRUP_STATE_FILE'] ?? DEFAULT_STATE_FILE,
    stateDir: values['state-dir'] ?? env['SYRUP_STATE_DIR'] ?? DEFAULT_STATE_DIR,
    backends: values.backend ?? [],
  };
}
