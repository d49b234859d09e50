/** Where the CLI writes, injectable so tests can run it in-process. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
  err: (text) => process.stderr.write(text.endsWith('\n') ? text : `${text}\n`),
};

/** A mistake in how the command was called: one sentence, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
