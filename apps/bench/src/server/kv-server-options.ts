import { Command, InvalidArgumentError, Option } from 'commander';
import { MAX_VALUE_BYTES } from './request-store.js';
import { describeServiceTime, NO_SERVICE_TIME, parseServiceTime, type ServiceTime } from './service-time.js';
import { UsageError } from './usage-error.js';

/** The policies the server knows by name; anything else must be a path to a policy file. */
export const KV_SERVER_POLICIES = ['linux-default', 'round-robin', 'hash', 'key-hash', 'scan-avoid', 'sita', 'token-qos'] as const;
export type KvServerPolicyName = (typeof KV_SERVER_POLICIES)[number];
/** The thread policies the server knows by name (deployed at the `thread` hook on its own workers); anything else must be a path. */
export const KV_SERVER_THREAD_POLICIES = ['get-priority'] as const;

export type KvStoreMode = 'synthetic' | 'lmdb';

/**
 * The server's options as a program passes them (see startKvServerProcess); each maps to
 * one flag of `bin/kv-server.mjs`, and the process checks them. Service times are flag
 * strings: `cpu:10us`, `block:5ms`, `cpu:exp:10us`, `block:exp:200us` or `none`.
 */
export interface KvServerOptions {
  readonly port: number;
  /** Default 127.0.0.1 (the bench is loopback-only). */
  readonly address?: string;
  /** Worker threads, one socket each. Default 4. */
  readonly threads?: number;
  /** Default 'synthetic'. */
  readonly store?: KvStoreMode;
  /** Service times; in synthetic mode they default to cpu:10us, cpu:700us, cpu:10us, in lmdb mode to none (added on top of the store's own work). */
  readonly get?: string;
  readonly scan?: string;
  readonly put?: string;
  /** lmdb: keys 0 .. keys-1 preloaded. Default 100000. */
  readonly keys?: number;
  /** Bytes of a key's initial value (and of every synthetic GET reply). Default 16. */
  readonly valueSize?: number;
  /** Keys a SCAN reads (lmdb) or claims (synthetic). Default 100. */
  readonly scanLength?: number;
  /** A name of KV_SERVER_POLICIES or a path to a policy's .ts file. Default 'linux-default'. */
  readonly policy?: string;
  /** Policy params; SOCKETS defaults to `threads` when the policy declares it. */
  readonly params?: Readonly<Record<string, number | bigint>>;
  /** A thread policy (a name of KV_SERVER_THREAD_POLICIES or a path) run by an agent in the server over its worker threads. Default none. */
  readonly threadPolicy?: string;
  /** Token refill (policies with a `tokens` map, such as token-qos): tokens per second in all (TokenRefiller's ratePerSec). */
  readonly tokenRate?: number;
  readonly tokenBurst?: number;
  readonly tokenBestEffortBurst?: number;
  readonly tokenIntervalMs?: number;
  readonly lsUser?: number;
  readonly beUsers?: readonly number[];
  /** SO_RCVBUF of each socket in bytes. Default 4 MiB. */
  readonly receiveBuffer?: number;
}

/** The options after parsing and defaults: what the server runs with. */
export interface KvServerConfig {
  readonly port: number;
  readonly address: string;
  readonly threads: number;
  readonly store: KvStoreMode;
  readonly times: { readonly get: ServiceTime; readonly scan: ServiceTime; readonly put: ServiceTime };
  readonly keys: number;
  readonly valueSize: number;
  readonly scanLength: number;
  readonly policy: string;
  readonly params: Readonly<Record<string, number | bigint>>;
  /** The thread policy, or undefined when the kernel schedules the workers. */
  readonly threadPolicy: string | undefined;
  readonly tokens: { readonly ratePerSec: number; readonly lsUser: number; readonly beUsers: readonly number[]; readonly burst?: number; readonly bestEffortBurst?: number; readonly intervalMs?: number } | undefined;
  readonly receiveBuffer: number;
}

const DEFAULTS = { address: '127.0.0.1', threads: 4, keys: 100_000, valueSize: 16, scanLength: 100, receiveBuffer: 4 << 20 } as const;
const SYNTHETIC_TIMES = { get: 'cpu:10us', scan: 'cpu:700us', put: 'cpu:10us' } as const;
/** A thread per socket; the SK_REUSEPORT socket array and the policies' busy maps stop at 64. */
const MAX_THREADS = 64;

/**
 * Parses the command line of `kv-server` (without node and script). Throws CommanderError
 * for malformed flags and UsageError for values that do not fit together, both user mistakes.
 */
export function parseKvServerArgs(argv: readonly string[], output?: { out(text: string): void; err(text: string): void }): KvServerConfig {
  const program = new Command('kv-server')
    .description('A RocksDB-style UDP key-value server: one worker thread per SO_REUSEPORT socket, steered by a Syrup policy.')
    .exitOverride()
    .configureOutput({ writeOut: (s) => output?.out(s), writeErr: (s) => output?.err(s), outputError: () => undefined })
    .allowExcessArguments(false)
    .requiredOption('--port <n>', 'UDP port of the socket group', integer('--port', 1, 65535))
    .option('--address <ipv4>', 'address the sockets bind to', DEFAULTS.address)
    .option('--threads <n>', 'worker threads, one socket each', integer('--threads', 1, MAX_THREADS), DEFAULTS.threads)
    .addOption(new Option('--store <mode>', 'what serves requests').choices(['synthetic', 'lmdb']).default('synthetic'))
    .option('--get <svc>', `GET service time: cpu:10us, block:5ms, cpu:exp:10us, block:exp:200us or none (synthetic default ${SYNTHETIC_TIMES.get}; lmdb default none)`)
    .option('--scan <svc>', `SCAN service time (synthetic default ${SYNTHETIC_TIMES.scan}; lmdb default none)`)
    .option('--put <svc>', `PUT service time (synthetic default ${SYNTHETIC_TIMES.put}; lmdb default none)`)
    .option('--keys <n>', 'lmdb: keys preloaded (0 .. n-1)', integer('--keys', 0, 100_000_000), DEFAULTS.keys)
    .option('--value-size <bytes>', "bytes of a key's initial value", integer('--value-size', 0, MAX_VALUE_BYTES), DEFAULTS.valueSize)
    .option('--scan-length <n>', 'keys a SCAN reads', integer('--scan-length', 1, 1_000_000), DEFAULTS.scanLength)
    .option('--policy <name|path>', `${KV_SERVER_POLICIES.join(', ')}, or a policy file`, 'linux-default')
    .option('--thread-policy <name|path>', `a thread policy run over the workers on the server's CPUs: ${KV_SERVER_THREAD_POLICIES.join(', ')}, or a policy file`)
    .addOption(new Option('--param <NAME=VALUE>', 'policy param (repeatable); SOCKETS defaults to --threads').argParser(collectParam).default({}, 'none'))
    .option('--token-rate <per-s>', 'token refill: tokens per second in all, the latency-sensitive user served first', positiveNumber('--token-rate'))
    .option('--ls-user <id>', 'token refill: the latency-sensitive user id', integer('--ls-user', 0, 1023))
    .option('--be-users <ids>', 'token refill: best-effort user ids, comma-separated', userList)
    .option('--token-burst <n>', 'token refill: most tokens a bucket holds (default 10 ms of --token-rate)', integer('--token-burst', 1, 1_000_000_000))
    .option('--token-be-burst <n>', 'token refill: most tokens a best-effort bucket holds (default --token-burst)', integer('--token-be-burst', 1, 1_000_000_000))
    .option('--token-interval-ms <ms>', 'token refill: refill period (default 1)', positiveNumber('--token-interval-ms'))
    .option('--rcvbuf <bytes>', 'SO_RCVBUF of each socket', integer('--rcvbuf', 4096, 1 << 30), DEFAULTS.receiveBuffer);
  program.parse([...argv], { from: 'user' });
  const o = program.opts<{
    port: number;
    address: string;
    threads: number;
    store: KvStoreMode;
    get?: string;
    scan?: string;
    put?: string;
    keys: number;
    valueSize: number;
    scanLength: number;
    policy: string;
    param: Record<string, number | bigint>;
    threadPolicy?: string;
    tokenRate?: number;
    lsUser?: number;
    beUsers?: number[];
    tokenBurst?: number;
    tokenBeBurst?: number;
    tokenIntervalMs?: number;
    rcvbuf: number;
  }>();
  const time = (flag: 'get' | 'scan' | 'put'): ServiceTime => {
    const text = o[flag] ?? (o.store === 'synthetic' ? SYNTHETIC_TIMES[flag] : undefined);
    return text === undefined ? NO_SERVICE_TIME : parseServiceTime(text, `--${flag}`);
  };
  const tokenFlags = [o.tokenRate, o.lsUser, o.beUsers].filter((v) => v !== undefined).length;
  if (tokenFlags !== 0 && tokenFlags !== 3) {
    throw new UsageError('--token-rate, --ls-user and --be-users go together: the refiller needs the rate, the latency-sensitive user and the best-effort users.');
  }
  if (o.policy === 'token-qos' && tokenFlags === 0) {
    throw new UsageError('--policy token-qos drops every request without a token, so it needs --token-rate, --ls-user and --be-users for the refiller.');
  }
  return {
    port: o.port,
    address: o.address,
    threads: o.threads,
    store: o.store,
    times: { get: time('get'), scan: time('scan'), put: time('put') },
    keys: o.keys,
    valueSize: o.valueSize,
    scanLength: o.scanLength,
    policy: o.policy,
    params: o.param,
    threadPolicy: o.threadPolicy,
    tokens:
      o.tokenRate === undefined
        ? undefined
        : {
            ratePerSec: o.tokenRate,
            lsUser: o.lsUser as number,
            beUsers: o.beUsers as number[],
            ...(o.tokenBurst === undefined ? {} : { burst: o.tokenBurst }),
            ...(o.tokenBeBurst === undefined ? {} : { bestEffortBurst: o.tokenBeBurst }),
            ...(o.tokenIntervalMs === undefined ? {} : { intervalMs: o.tokenIntervalMs }),
          },
    receiveBuffer: o.rcvbuf,
  };
}

/** The command-line flags for `options` (the inverse of parseKvServerArgs). */
export function kvServerArgs(options: KvServerOptions): string[] {
  const args = ['--port', String(options.port)];
  const flag = (name: string, value: string | number | undefined): void => {
    if (value !== undefined) args.push(name, String(value));
  };
  flag('--address', options.address);
  flag('--threads', options.threads);
  flag('--store', options.store);
  flag('--get', options.get);
  flag('--scan', options.scan);
  flag('--put', options.put);
  flag('--keys', options.keys);
  flag('--value-size', options.valueSize);
  flag('--scan-length', options.scanLength);
  flag('--policy', options.policy);
  for (const [name, value] of Object.entries(options.params ?? {})) args.push('--param', `${name}=${value}`);
  flag('--thread-policy', options.threadPolicy);
  flag('--token-rate', options.tokenRate);
  flag('--ls-user', options.lsUser);
  flag('--be-users', options.beUsers?.join(','));
  flag('--token-burst', options.tokenBurst);
  flag('--token-be-burst', options.tokenBestEffortBurst);
  flag('--token-interval-ms', options.tokenIntervalMs);
  flag('--rcvbuf', options.receiveBuffer);
  return args;
}

/** What the ready line says ran, e.g. "synthetic: GET cpu 10us, SCAN block 5ms, PUT cpu 10us". */
export function describeMode(config: KvServerConfig): string {
  const { get, scan, put } = config.times;
  const times = `GET ${describeServiceTime(get)}, SCAN ${describeServiceTime(scan)}, PUT ${describeServiceTime(put)}`;
  if (config.store === 'synthetic') return `synthetic: ${times}`;
  const extra = [get, scan, put].some((t) => t.meanUs > 0) ? `; added service time ${times}` : '';
  return `lmdb: ${config.keys} keys of ${config.valueSize} bytes, SCAN ${config.scanLength} keys${extra}`;
}

function integer(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`${flag} takes an integer from ${min} to ${max}, not '${value}'`);
    }
    return Number(value);
  };
}

function positiveNumber(flag: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${flag} takes a positive number, not '${value}'`);
    return n;
  };
}

function userList(value: string): number[] {
  const ids = value.split(',').map((s) => s.trim());
  if (ids.some((id) => !/^\d+$/.test(id) || Number(id) > 1023)) {
    throw new InvalidArgumentError(`--be-users takes comma-separated user ids from 0 to 1023, not '${value}'`);
  }
  return ids.map(Number);
}

function collectParam(value: string, previous: Record<string, number | bigint>): Record<string, number | bigint> {
  const match = /^([A-Za-z_$][\w$]*)=(0x[0-9a-fA-F]+|\d+)$/.exec(value);
  if (match === null) throw new InvalidArgumentError(`--param takes NAME=VALUE with an unsigned integer value, not '${value}'`);
  const big = BigInt(match[2] as string);
  if (big > 0xffff_ffff_ffff_ffffn) throw new InvalidArgumentError(`--param ${match[1]} does not fit in 64 bits`);
  return { ...previous, [match[1] as string]: big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big };
}
