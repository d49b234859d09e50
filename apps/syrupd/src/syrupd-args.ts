import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET_PATH, type ConnectionLimits, type RuntimeLimits } from '@syrup/runtime';
import { DEFAULT_PIN_ROOT, DEFAULT_STATE_DIR, DEFAULT_STATE_FILE } from './syrupd.js';

export interface SyrupdArgs {
  readonly socketPath: string;
  readonly pinRoot: string;
  readonly stateFile: string;
  readonly stateDir: string;
  /** Per-tenant limits from the flags given; absent flags keep the runtime's defaults. */
  readonly limits?: RuntimeLimits;
  /** Bounds on each client connection from the flags given; absent flags keep the runtime's DEFAULT_CONNECTION_LIMITS. */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /** `--backend` packages (names or directory paths) in order; empty means the project's own installed ones. */
  readonly backends: readonly string[];
  /** `--thread-cpus 1-3`: the CPUs thread-hook enclaves may claim; absent keeps the thread backend's default (every CPU but 0). */
  readonly threadCpus?: readonly number[];
}

/** The limit flags and the RuntimeLimits field each sets (see the runtime's service/limits). */
const LIMIT_FLAGS = {
  'max-deployments': 'maxDeployments',
  'max-map-bytes': 'maxMapBytes',
  'max-request-bytes': 'maxRequestBytes',
  'compile-timeout-ms': 'compileTimeoutMs',
  'max-queued-compiles': 'maxQueuedCompiles',
} as const satisfies Record<string, keyof RuntimeLimits>;

/** The connection flags and the ConnectionLimits field each sets (see the runtime's protocol/connection-limits.ts). */
const CONNECTION_FLAGS = {
  'max-connections': 'maxConnections',
  'idle-timeout-ms': 'idleTimeoutMs',
  'max-pipelined-requests': 'maxPipelinedRequests',
  'max-unread-reply-bytes': 'maxUnreadReplyBytes',
} as const satisfies Record<string, keyof ConnectionLimits>;

/**
 * The limit flags (per tenant: LIMIT_FLAGS; per connection: CONNECTION_FLAGS), `--backend <name-or-path>`
 * (repeatable) and `--socket` / `--pin-root` / `--state-file` / `--state-dir`, the last four falling back to $SYRUP_SOCKET / $SYRUP_PIN_ROOT / $SYRUP_STATE_FILE / $SYRUP_STATE_DIR, then the defaults.
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
      'max-connections': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'max-pipelined-requests': { type: 'string' },
      'max-unread-reply-bytes': { type: 'string' },
      'thread-cpus': { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const limits = positiveIntegers(LIMIT_FLAGS, values);
  const connectionLimits = positiveIntegers(CONNECTION_FLAGS, values);
  return {
    ...(Object.keys(limits).length > 0 ? { limits: limits as RuntimeLimits } : {}),
    ...(Object.keys(connectionLimits).length > 0 ? { connectionLimits: connectionLimits as Partial<ConnectionLimits> } : {}),
    socketPath: values.socket ?? env['SYRUP_SOCKET'] ?? DEFAULT_SOCKET_PATH,
    pinRoot: values['pin-root'] ?? env['SYRUP_PIN_ROOT'] ?? DEFAULT_PIN_ROOT,
    stateFile: values['state-file'] ?? env['SYRUP_STATE_FILE'] ?? DEFAULT_STATE_FILE,
    stateDir: values['state-dir'] ?? env['SYRUP_STATE_DIR'] ?? DEFAULT_STATE_DIR,
    backends: values.backend ?? [],
    ...(values['thread-cpus'] === undefined ? {} : { threadCpus: cpuList(values['thread-cpus']) }),
  };
}

const MAX_TIMER_MS = 2 ** 31 - 1;

/** `1-3,5` as CPU numbers, ascending. */
function cpuList(text: string): number[] {
  const cpus = new Set<number>();
  for (const part of text.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    const first = Number(match?.[1]);
    const last = match?.[2] === undefined ? first : Number(match[2]);
    if (match === null || last < first || last - first > 4096) throw new Error(`--thread-cpus takes a CPU list such as 1-3,5, not '${text}'.`);
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** The values of the `flags` given, by field. Zero makes no sense for any of them (no deployment, no request, no connection fits), so it is refused too. */
function positiveIntegers(flags: Readonly<Record<string, string>>, values: Readonly<Record<string, unknown>>): Record<string, number> {
  const fields: Record<string, number> = {};
  for (const [flag, field] of Object.entries(flags)) {
    const text = values[flag];
    if (typeof text !== 'string') continue;
    if (!/^\d+$/.test(text) || Number(text) === 0 || !Number.isSafeInteger(Number(text))) throw new Error(`--${flag} takes a positive integer, not '${text}'.`);
    // Node's timers take at most 2^31 - 1 ms (about 24.8 days) and fire at once beyond it.
    if (flag.endsWith('-ms') && Number(text) > MAX_TIMER_MS) throw new Error(`--${flag} takes at most ${MAX_TIMER_MS} ms, not '${text}'.`);
    fields[field] = Number(text);
  }
  return fields;
}
