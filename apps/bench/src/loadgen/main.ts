import { CommanderError } from 'commander';
import { parseLoadgenArgs } from './loadgen-options.js';
import { NotLoopbackError } from './loopback-address.js';
import { runLoadgen, type LoadgenOptions } from './run-loadgen.js';

/*
 * The loadgen process: parses its flags, runs, prints one JSON object on stdout. A user
 * mistake, or a refusal of the kernel objects the AF_XDP transport needs (a queue another
 * socket holds, an XDP program already attached, no privileges), exits 2 with one sentence on
 * stderr. SIGINT/SIGTERM end the run early; the report
 * then says aborted and counts only what was scheduled.
 */
let options: LoadgenOptions;
try {
  options = parseLoadgenArgs(process.argv.slice(2));
} catch (error) {
  if (error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.version')) process.exit(0);
  // Commander says "option '--x <v>' argument 'y' is invalid. <our reason>": keep our sentence.
  const message = error instanceof Error ? error.message.replace(/^error: /, '').replace(/^.*? is invalid\. /, '') : String(error);
  process.stderr.write(`loadgen: ${message}\n`);
  process.exit(2);
}
/** The backend's errors (XskError, LinkError, ProgramError, SyscallError) carry a stable string `code`. */
function isCodedRefusal(error: unknown): error is Error {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

const stop = new AbortController();
const onSignal = (): void => stop.abort();
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  const report = await runLoadgen({ ...options, signal: stop.signal });
  process.stdout.write(`${JSON.stringify(report)}\n`);
} catch (error) {
  if (error instanceof NotLoopbackError || error instanceof RangeError || isCodedRefusal(error)) {
    process.stderr.write(`loadgen: ${error.message.split('\n')[0]}\n`);
    process.exit(2);
  }
  throw error;
}
