import { Command, InvalidArgumentError } from 'commander';
import type { UserStream } from './arrival-schedule.js';
import { defaultLoadgenCpu } from './pin-to-cpu.js';
import { parseMix } from './request-mix.js';
import type { LoadgenOptions, TransportName } from './run-loadgen.js';

function positiveNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

function nonNegativeNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative number`);
    return n;
  };
}

function nonNegativeInteger(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

function userStream(value: string, previous: UserStream[] = []): UserStream[] {
  const match = /^(\d+):(\d+(?:\.\d+)?)$/.exec(value);
  if (match === null || !(Number(match[2]) > 0)) throw new InvalidArgumentError('--user takes id:rate, such as 0:4000');
  return [...previous, { user: Number(match[1]), rate: Number(match[2]) }];
}

function transportName(value: string): TransportName {
  if (value !== 'udp' && value !== 'af-xdp') throw new InvalidArgumentError('--transport must be udp or af-xdp');
  return value;
}

/** The loadgen's command line (commander), throwing CommanderError on a user mistake. */
export function loadgenCommand(): Command {
  return new Command('loadgen')
    .description('Open-loop Poisson UDP load generator for the bench key-value server (loopback, or a runner-made veth peer); prints one JSON object.')
    .requiredOption('--port <n>', 'server UDP port', nonNegativeInteger('--port'))
    .option('--host <address>', 'server address: a loopback address, or with --namespace the veth peer address the runner recorded', '127.0.0.1')
    .option('--namespace <name>', 'the network namespace the runner created for this run and runs the generator in')
    .option('--rate <req/s>', 'offered load of the single user 0 (ignored when --user is given)', positiveNumber('--rate'), 1000)
    .option('--user <id:rate>', 'a user with its own Poisson stream and flows (repeatable)', userStream)
    .option('--duration <s>', 'measured window in seconds', positiveNumber('--duration'), 10)
    .option('--count <n>', 'at most this many measured requests (whichever of --duration and --count ends first)', nonNegativeInteger('--count'))
    .option('--warmup <s>', 'seconds of load sent before the measured window', nonNegativeNumber('--warmup'), 1)
    .option('--grace <ms>', 'wait this long after the last send before counting unanswered requests as dropped', nonNegativeInteger('--grace'), 500)
    .option('--flows <n>', 'client flows (sockets) per user', nonNegativeInteger('--flows'), 8)
    .option('--mix <mix>', 'request mix, such as get=0.995,scan=0.005', 'get=1')
    .option('--keys <n>', 'keys drawn uniformly from 0..n-1', nonNegativeInteger('--keys'), 100_000)
    .option('--cpu <n>', 'CPU to pin the generator to (default: the last one)', nonNegativeInteger('--cpu'))
    .option('--no-pin', 'do not pin to a CPU')
    .option('--seed <n>', 'seed of the arrival schedule', nonNegativeInteger('--seed'), 1)
    .option('--transport <name>', 'udp sockets, or af-xdp: an AF_XDP socket on the veth of --namespace (no UDP stack on either path)', transportName, 'udp')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined, writeOut: (s) => process.stdout.write(s) });
}

interface ParsedFlags {
  port: number;
  host: string;
  namespace?: string;
  rate: number;
  user?: UserStream[];
  duration: number;
  count?: number;
  warmup: number;
  grace: number;
  flows: number;
  mix: string;
  keys: number;
  cpu?: number;
  pin: boolean;
  seed: number;
  transport: TransportName;
}

/** Parses argv into options; throws CommanderError or RangeError on a user mistake. */
export function parseLoadgenArgs(argv: readonly string[]): LoadgenOptions {
  const command = loadgenCommand();
  command.parse([...argv], { from: 'user' });
  const flags = command.opts<ParsedFlags>();
  if (flags.flows < 1) throw new RangeError('--flows must be at least 1');
  if (flags.keys < 1) throw new RangeError('--keys must be at least 1');
  return {
    host: flags.host,
    ...(flags.namespace === undefined ? {} : { namespace: flags.namespace }),
    port: flags.port,
    users: flags.user ?? [{ user: 0, rate: flags.rate }],
    flows: flags.flows,
    mix: parseMix(flags.mix),
    keys: flags.keys,
    durationS: flags.duration,
    ...(flags.count === undefined ? {} : { count: flags.count }),
    warmupS: flags.warmup,
    graceMs: flags.grace,
    cpu: flags.pin ? (flags.cpu ?? defaultLoadgenCpu()) : null,
    seed: flags.seed,
    transport: flags.transport,
  };
}
