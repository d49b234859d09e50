import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { SyscallError } from '@syrup/backend-ebpf/syscalls';
import { isRefusal } from '@syrup/core';
import { MicaServer, type MicaReadyLine, type MicaServerConfig } from './mica-server.js';

/*
 * The MICA server process, run in the server's namespace of a runner-made veth pair. stdout
 * carries two JSON lines, the ready line and the stopped line; SIGINT or SIGTERM stops it
 * (workers, then the policy, then the sockets) and exits 0; a bad flag or a refusal of the
 * framework (no such interface, the queue taken, no privileges) exits 2 in one sentence.
 */

const integer = (name: string, min: number) => (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};

function parse(argv: readonly string[]): MicaServerConfig {
  const program = new Command('mica-server')
    .requiredOption('--interface <name>', 'the interface whose XDP hook (driver mode) steers requests')
    .requiredOption('--port <n>', 'UDP port', integer('--port', 1))
    .option('--threads <n>', 'worker threads, one partition and one AF_XDP socket each', integer('--threads', 1), 2)
    .option('--mode <mode>', "key-hash (Syrup steers to the key's home) or handoff (round robin, then MICA's handoff)", 'key-hash')
    .option('--keys <n>', 'keys 0 to n-1', integer('--keys', 1), 100_000)
    .option('--value-size <n>', 'bytes per value', integer('--value-size', 1), 32)
    .option('--frames <n>', 'UMEM frames of 2048 bytes', integer('--frames', 64), 4096)
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  program.parse([...argv], { from: 'user' });
  const flags = program.opts<{ interface: string; port: number; threads: number; mode: string; keys: number; valueSize: number; frames: number }>();
  if (flags.mode !== 'key-hash' && flags.mode !== 'handoff') throw new InvalidArgumentError(`--mode must be key-hash or handoff, not "${flags.mode}"`);
  if (flags.port > 65_535) throw new InvalidArgumentError('--port must be at most 65535');
  return { interface: flags.interface, port: flags.port, threads: flags.threads, mode: flags.mode, keys: flags.keys, valueSize: flags.valueSize, frames: flags.frames };
}

/** The backend's own errors (LinkError, XskError...) carry a stable string `code`, as SyrupErrors do. */
function isCodedRefusal(error: unknown): error is Error {
  return error instanceof Error && typeof (error as { code?: unknown }).code === 'string';
}

async function main(argv: readonly string[]): Promise<number> {
  let config: MicaServerConfig;
  try {
    config = parse(argv);
  } catch (error) {
    if (error instanceof CommanderError && (error.code === 'commander.helpDisplayed' || error.code === 'commander.help')) return 0;
    process.stderr.write(`mica-server: ${error instanceof Error ? error.message.replace(/^error: /, '').replace(/^.*? is invalid\. /, '') : String(error)}.\n`);
    return 2;
  }
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
  process.on('SIGINT', () => requestStop());
  process.on('SIGTERM', () => requestStop());
  process.stdout.on('error', () => undefined);
  let server: MicaServer;
  try {
    server = await MicaServer.start(config);
  } catch (error) {
    // The framework's refusals (no such interface, a queue already taken, missing privileges) are one sentence each; nothing is left behind.
    if (isRefusal(error) || error instanceof SyscallError || isCodedRefusal(error)) {
      process.stderr.write(`mica-server: ${error.message.split('\n')[0]}\n`);
      return 2;
    }
    throw error;
  }
  const ready: MicaReadyLine = { ready: true, pid: process.pid, port: config.port, threads: config.threads, mode: config.mode, policy: server.policy, tids: server.threadIds };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  await stopRequested;
  process.stdout.write(`${JSON.stringify(await server.stop())}\n`);
  return 0;
}

process.exit(await main(process.argv.slice(2)));
