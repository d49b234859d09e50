import { pino } from 'pino';
import { lowerPoolPriority } from './lower-pool-priority.js';
import { parseSyrupdArgs, type SyrupdArgs } from './syrupd-args.js';
import { startSyrupd } from './syrupd.js';

const logger = pino({ name: 'syrupd' });
let args: SyrupdArgs;
try {
  args = parseSyrupdArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`syrupd: ${(error as Error).message}\n`);
  process.exit(2);
}
try {
  const daemon = await startSyrupd({ ...args, logger });
  // The verifier runs on the pool threads: below the event loop, which answers every tenant.
  const lowered = await lowerPoolPriority();
  logger.info({ threads: lowered.length, nice: 10 }, 'pool threads below the event loop');
  let stopping = false;
  const stop = (signal: string): void => {
    // A terminal's Ctrl-C may arrive twice (to the bin wrapper and to this process): one shutdown.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    daemon.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  logger.fatal({ reason: (error as Error).message }, 'syrupd could not start');
  process.exit(1);
}
