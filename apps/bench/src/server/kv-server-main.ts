import { CommanderError } from 'commander';
import { KvServer } from './kv-server.js';
import { parseKvServerArgs, type KvServerConfig } from './kv-server-options.js';
import { USAGE_EXIT_CODE, UsageError } from './usage-error.js';

/*
 * The kv-server process (bin/kv-server.mjs runs this file through tsx). stdout carries exactly
 * two JSON lines, the ready line and the stopped line, so a runner can parse it; everything
 * else goes to stderr. SIGINT or SIGTERM stops the server cleanly and exits 0; a user mistake
 * exits 2 with one sentence on stderr and nothing left behind; a worker failure exits 1.
 */

/** How often the server checks that whoever started it is still there. */
const PARENT_CHECK_MS = 1000;

const log = (line: string): void => {
  process.stderr.write(`kv-server: ${line}\n`);
};

async function main(argv: readonly string[]): Promise<number> {
  let config: KvServerConfig;
  try {
    config = parseKvServerArgs(argv, { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) });
  } catch (error) {
    return report(error);
  }

  // Signals are taken over before anything is created, so one that arrives during startup
  // still ends in a clean stop rather than the default exit that would skip it.
  let requestStop!: (code: number) => void;
  const stopRequested = new Promise<number>((resolve) => (requestStop = resolve));
  const onSignal = (): void => requestStop(0);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // A runner killed outright cannot send SIGTERM; its server notices it was orphaned and stops
  // (undeploying), rather than serving and holding the port forever.
  const parent = process.ppid;
  // Nobody may be reading stdout any more by the time the stopped line is written.
  process.stdout.on('error', () => undefined);
  setInterval(() => {
    if (process.ppid === parent) return;
    log(`the parent process ${parent} is gone, so the server stops.`);
    requestStop(0);
  }, PARENT_CHECK_MS).unref();

  let server: KvServer;
  try {
    server = await KvServer.start(config, { log, onFailure: () => requestStop(1) });
  } catch (error) {
    return report(error);
  }
  process.stdout.write(`${JSON.stringify(server.readyLine())}\n`);
  const code = await stopRequested;
  const stopped = await server.stop();
  process.stdout.write(`${JSON.stringify(stopped)}\n`);
  return code;
}

function report(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.code === 'commander.version') return 0;
    // Commander says "option '--port <n>' argument 'x' is invalid. <our reason>": keep our sentence.
    const message = error.code === 'commander.invalidArgument' ? error.message.replace(/^.*? is invalid\. /, '') : error.message.replace(/^error: /, '');
    log(sentence(message));
    return USAGE_EXIT_CODE;
  }
  if (error instanceof UsageError) {
    log(sentence(error.message));
    return USAGE_EXIT_CODE;
  }
  process.stderr.write(`kv-server: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return 1;
}

/** The first line only, ending with a full stop. */
function sentence(message: string): string {
  const first = (message.split('\n')[0] ?? '').trim();
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

const code = await main(process.argv.slice(2));
// Explicit: a stray handle (a library's timer) must not keep a stopped server alive.
process.exit(code);
