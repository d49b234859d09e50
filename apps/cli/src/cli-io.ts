import { SyrupError } from '@syrup/errors';

/** A stream progress can be drawn on: a terminal (isTTY) that takes cursor movements. */
export interface ProgressStream extends NodeJS.WritableStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
}

/** Where the CLI writes, injectable so tests can run it in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Where progress goes: stderr when it is a terminal; undefined means no progress at all. */
  readonly progress?: ProgressStream | undefined;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
  // Read when asked: a redirected stderr (a pipe, a file, CI logs) never gets cursor movements.
  get progress() {
    return process.stderr.isTTY ? process.stderr : undefined;
  },
};

/** A mistake in how the command was called: one sentence, exit code 2. */
export class UsageError extends SyrupError<'USAGE'> {
  override name = 'UsageError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('USAGE', message, options);
  }
}
