import { parseArgs } from 'node:util';
import { DEFAULT_SOCKET_PATH } from '@syrup/runtime';
import { DEFAULT_PIN_ROOT } from './syrupd.js';

export interface SyrupdArgs {
  readonly socketPath: string;
  readonly pinRoot: string;
}

/** `--socket` / `--pin-root`, falling back to $SYRUP_SOCKET / $SYRUP_PIN_ROOT, then the defaults. */
export function parseSyrupdArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SyrupdArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: { socket: { type: 'string' }, 'pin-root': { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  return {
    socketPath: values.socket ?? env['SYRUP_SOCKET'] ?? DEFAULT_SOCKET_PATH,
    pinRoot: values['pin-root'] ?? env['SYRUP_PIN_ROOT'] ?? DEFAULT_PIN_ROOT,
  };
}
