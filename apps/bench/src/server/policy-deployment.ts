import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { KernelDataMapStore } from '@syrup/backend-ebpf/maps';
import { SyscallError, type Fd } from '@syrup/backend-ebpf/syscalls';
import { compilePolicy, isRefusal, SyrupError, type PolicySource } from '@syrup/core';
import type { DataMap } from '@syrup/maps';
import { ScanTracker, TokenRefiller } from '@syrup/policies-std';
import { embedded, readPolicy, type EmbeddedSyrup } from '@syrup/runtime';
import type { KvServerConfig } from './kv-server-options.js';
import { KV_SERVER_POLICIES, KV_SERVER_THREAD_POLICIES } from './kv-server-options.js';
import { deployThreadPolicy, enclaveBackendModule, serverCpus, type ThreadPolicyInfo } from './thread-policy.js';
import { setThisThreadNice } from './thread-priority.js';
import { UsageError } from './usage-error.js';

/** apps/bench: @syrup/policies-std is its dependency, so standard policy specifiers resolve from here. */
/** The token refiller's thread (the server's main thread) runs at this nice value. */
const REFILLER_NICE = 19;
const BENCH_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The server's policies, deployed in-process with `embedded()`: the socket-layer policy at
 * socket-select on the server's own sockets (executor k = socket k = worker k), and with
 * --thread-policy a thread policy at the `thread` hook over the worker threads (once they
 * exist, `deployThreadPolicy`), plus the userspace companions their maps call for: a `busy`
 * array (scan-avoid, get-priority; one map shared by name when both layers declare it) is
 * reset by a ScanTracker and shared with the workers, which mark their own entries around
 * each SCAN (see BusyMark); a `tokens` array (token-qos) gets a running TokenRefiller.
 */
export class PolicyDeployment implements AsyncDisposable {
  /** The socket-layer deployment's id; undefined for linux-default (with a thread policy only). */
  readonly id: string | undefined;
  readonly #syrup: EmbeddedSyrup;
  readonly #config: KvServerConfig;
  /** Our own handle on the `busy` array, whose fd the workers map; closed after they exited. */
  #busy: KernelDataMapStore | undefined;
  readonly #refiller: TokenRefiller | undefined;
  readonly #log: (message: string) => void;
  #thread: ThreadPolicyInfo | undefined;
  #closed = false;

  private constructor(id: string | undefined, syrup: EmbeddedSyrup, config: KvServerConfig, busy: KernelDataMapStore | undefined, refiller: TokenRefiller | undefined, log: (message: string) => void) {
    this.id = id;
    this.#config = config;
    this.#log = log;
    this.#syrup = syrup;
    this.#busy = busy;
    this.#refiller = refiller;
  }

  /**
   * Deploys `config.policy` on `sockets` (nothing for linux-default) and readies the thread
   * hook when `config.threadPolicy` is set; every refusal is a UsageError with the framework's sentence.
   */
  static async deploy(config: KvServerConfig, sockets: readonly Fd[], log: (line: string) => void): Promise<PolicyDeployment> {
    const backends = config.threadPolicy === undefined ? [ebpfBackendModule] : [ebpfBackendModule, enclaveBackendModule(serverCpus())];
    if (config.policy === 'linux-default') return new PolicyDeployment(undefined, await embedded({ backends }), config, undefined, undefined, log);
    const source = await policySource(config.policy, KV_SERVER_POLICIES);
    const manifest = userMistake(() => compilePolicy(source).manifest);
    const params: Record<string, number | bigint> = {};
    if (Object.hasOwn(manifest.params, 'SOCKETS')) params['SOCKETS'] = config.threads;
    if (Object.hasOwn(manifest.params, 'LS_USER') && config.tokens !== undefined) params['LS_USER'] = config.tokens.lsUser;
    Object.assign(params, config.params);
    const tokensDeclared = manifest.maps['tokens']?.kind === 'array';
    if (config.tokens !== undefined && !tokensDeclared) {
      throw new UsageError(`--token-rate refills a policy's 'tokens' array map, and policy '${manifest.name}' declares none.`);
    }

    const syrup = await embedded({ backends });
    // The thread policy's busy map is this one when both layers share it.
    const shareBusy = config.threadPolicy !== undefined && manifest.maps['busy']?.kind === 'array';
    let busyHandle: KernelDataMapStore | undefined;
    let refiller: TokenRefiller | undefined;
    try {
      const deployment = await userMistakeAsync(() =>
        syrup.deploy(source, { hook: 'socket-select', protocol: 'udp', port: config.port, extra: { sockets }, params, ...(shareBusy ? { shareMaps: ['busy'] } : {}) }),
      );
      // The service's own map objects: over a kernel array they are mmapped, so the companions'
      // fetchAdd and compareExchange are atomic against the policy's.
      const managed = syrup.service.get(deployment.id);
      const maps = managed.maps as Readonly<Record<string, DataMap>>;
      const busy = manifest.maps['busy']?.kind === 'array' ? maps['busy'] : undefined;
      if (busy !== undefined) {
        // The tracker checks the map has an entry per worker and clears them; the workers mark.
        await new ScanTracker(busy, config.threads).reset();
        const store = managed.attachment?.maps.get('busy');
        if (!(store instanceof KernelDataMapStore) || !store.atomic) {
          throw new UsageError(`policy '${manifest.name}' has a busy map the workers cannot mark atomically (not an mmapable kernel array).`);
        }
        busyHandle = store.share();
      }
      const tokens = tokensDeclared ? maps['tokens'] : undefined;
      if (tokens !== undefined && config.tokens !== undefined) {
        refiller = new TokenRefiller(tokens, {
          ratePerSec: config.tokens.ratePerSec,
          latencySensitiveUser: config.tokens.lsUser,
          bestEffortUsers: config.tokens.beUsers,
          ...(config.tokens.burst === undefined ? {} : { burst: config.tokens.burst }),
          ...(config.tokens.bestEffortBurst === undefined ? {} : { bestEffortBurst: config.tokens.bestEffortBurst }),
          ...(config.tokens.intervalMs === undefined ? {} : { intervalMs: config.tokens.intervalMs }),
          onError: (error) => log(`the token refiller stopped: ${error instanceof Error ? error.message : String(error)}`),
        });
        refiller.start();
      } else if (tokens !== undefined) {
        log(`policy '${manifest.name}' has a tokens map but no refiller runs (no --token-rate), so its buckets stay as they are.`);
      }
      return new PolicyDeployment(deployment.id, syrup, config, busyHandle, refiller, log);
    } catch (error) {
      refiller?.close();
      busyHandle?.close();
      await syrup.close();
      // A companion refusing the policy's maps (a busy map smaller than --threads, say) is the user's to fix too.
      throw asUsageError(error);
    }
  }

  /**
   * Deploys the thread policy (--thread-policy, if any) over the worker threads, worker k's
   * thread id at k (see deployThreadPolicy); its `busy` map becomes the workers' when the
   * socket layer has none. Every refusal is a UsageError.
   */
  async deployThreadPolicy(workerTids: readonly number[]): Promise<void> {
    const policy = this.#config.threadPolicy;
    if (policy === undefined || this.#thread !== undefined) return;
    const source = await policySource(policy, KV_SERVER_THREAD_POLICIES);
    try {
      const { info, busy } = await deployThreadPolicy(this.#syrup, source, policy, workerTids);
      this.#thread = info;
      // A new map (no socket-layer policy shares it), all zeros; each worker checks it has an entry.
      if (busy !== undefined && this.#busy === undefined) this.#busy = busy.share();
    } catch (error) {
      throw asUsageError(error);
    }
  }

  /** The deployed thread policy, once `deployThreadPolicy` ran with one. */
  get thread(): ThreadPolicyInfo | undefined {
    return this.#thread;
  }

  /**
   * With a token refiller running, lowers this thread (the server's main thread, where the
   * refiller's timer fires) to nice 19: it shares the server's CPUs with the workers and wakes
   * every millisecond, and at nice 19 those wake-ups take a CPU when one is free instead of
   * delaying a worker's reply (each step grants for the time that really passed, so a late
   * step still grants the full rate). Call it after the workers exist: a new thread inherits
   * its creator's nice value. Answers the nice value set, or undefined when none was.
   */
  yieldToWorkers(): number | undefined {
    if (this.#refiller === undefined) return undefined;
    if (setThisThreadNice(REFILLER_NICE)) return REFILLER_NICE;
    this.#log(`could not lower the token refiller's thread to nice ${REFILLER_NICE}; it runs at the workers' priority.`);
    return undefined;
  }

  /**
   * The raw fd of the policy's `busy` array (scan-avoid), for the workers to map and mark
   * their SCANs in; undefined when the policy has none. Valid until `close()`.
   */
  get busyMapFd(): number | undefined {
    return this.#busy?.kernelMap.fd.raw;
  }

  /** Extra facts for the stopped line: tokens granted (token-qos). */
  stats(): Record<string, unknown> {
    const stats: Record<string, unknown> = {};
    if (this.#refiller !== undefined) {
      const { latencySensitive, bestEffort } = this.#refiller.granted;
      stats['tokensGranted'] = { latencySensitive: Number(latencySensitive), bestEffort: Number(bestEffort) };
    }
    return stats;
  }

  /** Stops the companions and undeploys: default scheduling resumes on the group. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#refiller?.close();
    try {
      await this.#syrup.close();
    } finally {
      this.#busy?.close();
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A standard policy by name (from @syrup/policies-std, one of `names`), or a policy file relative to the working directory. */
async function policySource(policy: string, names: readonly string[]): Promise<PolicySource> {
  if (names.includes(policy)) {
    return userMistakeAsync(() => readPolicy(`@syrup/policies-std/${policy}`, BENCH_ROOT));
  }
  if (!policy.includes('/') && !/\.[cm]?[jt]s$/.test(policy)) {
    const flag = names === KV_SERVER_THREAD_POLICIES ? '--thread-policy' : '--policy';
    throw new UsageError(`${flag} '${policy}' is neither one of ${names.join(', ')} nor a path to a policy file.`);
  }
  return userMistakeAsync(() => readPolicy(resolve(process.cwd(), policy)));
}

/** The framework's refusals (compile errors, verifier rejections, missing privileges) are the user's to fix. */
function asUsageError(error: unknown): unknown {
  // A refusal, not a low-level failure (those stay bugs, with their stack), except a failed syscall: a missing privilege.
  if (isRefusal(error) || error instanceof SyscallError) return new UsageError(error.message, { cause: error });
  return error;
}

function userMistake<T>(action: () => T): T {
  try {
    return action();
  } catch (error) {
    throw asUsageError(error);
  }
}

async function userMistakeAsync<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw asUsageError(error);
  }
}
