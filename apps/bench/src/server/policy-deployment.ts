import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { SyscallError, type Fd } from '@syrup/backend-ebpf/syscalls';
import { compilePolicy, SyrupError, type PolicySource } from '@syrup/core';
import type { DataMap } from '@syrup/maps';
import { ScanTracker, TokenRefiller } from '@syrup/policies-std';
import { embedded, readPolicy, type EmbeddedSyrup } from '@syrup/runtime';
import type { KvServerConfig } from './kv-server-options.js';
import { KV_SERVER_POLICIES } from './kv-server-options.js';
import { LatencySummary } from './latency-summary.js';
import { setThisThreadNice } from './thread-priority.js';
import { UsageError } from './usage-error.js';

/** apps/bench: @syrup/policies-std is its dependency, so standard policy specifiers resolve from here. */
/** The token refiller's thread (the server's main thread) runs at this nice value. */
const REFILLER_NICE = 19;
const BENCH_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The server's policy, deployed in-process with `embedded()` at socket-select on the server's
 * own sockets (executor k = socket k = worker k), plus the userspace companions its maps call
 * for: a policy with a `busy` array (scan-avoid) gets a ScanTracker fed by the workers' SCAN
 * reports, and one with a `tokens` array (token-qos) gets a running TokenRefiller.
 */
export class PolicyDeployment implements AsyncDisposable {
  readonly id: string;
  readonly #syrup: EmbeddedSyrup;
  readonly #tracker: ScanTracker | undefined;
  readonly #refiller: TokenRefiller | undefined;
  /** From a worker's report of a SCAN start to the busy mark being in the kernel map. */
  readonly #markDelay = new LatencySummary();
  readonly #log: (message: string) => void;
  #closed = false;

  private constructor(id: string, syrup: EmbeddedSyrup, tracker: ScanTracker | undefined, refiller: TokenRefiller | undefined, log: (message: string) => void) {
    this.id = id;
    this.#log = log;
    this.#syrup = syrup;
    this.#tracker = tracker;
    this.#refiller = refiller;
  }

  /** Deploys `config.policy` (not linux-default) on `sockets`; every refusal is a UsageError with the framework's sentence. */
  static async deploy(config: KvServerConfig, sockets: readonly Fd[], log: (line: string) => void): Promise<PolicyDeployment> {
    const source = await policySource(config.policy);
    const manifest = userMistake(() => compilePolicy(source).manifest);
    const params: Record<string, number | bigint> = {};
    if (Object.hasOwn(manifest.params, 'SOCKETS')) params['SOCKETS'] = config.threads;
    if (Object.hasOwn(manifest.params, 'LS_USER') && config.tokens !== undefined) params['LS_USER'] = config.tokens.lsUser;
    Object.assign(params, config.params);
    const tokensDeclared = manifest.maps['tokens']?.kind === 'array';
    if (config.tokens !== undefined && !tokensDeclared) {
      throw new UsageError(`--token-rate refills a policy's 'tokens' array map, and policy '${manifest.name}' declares none.`);
    }

    const syrup = await embedded({ backends: [ebpfBackendModule] });
    let tracker: ScanTracker | undefined;
    let refiller: TokenRefiller | undefined;
    try {
      const deployment = await userMistakeAsync(() =>
        syrup.deploy(source, { hook: 'socket-select', protocol: 'udp', port: config.port, extra: { sockets }, params }),
      );
      // The service's own map objects: over a kernel array they are mmapped, so the companions'
      // fetchAdd and compareExchange are atomic against the policy's.
      const maps = syrup.service.get(deployment.id).maps as Readonly<Record<string, DataMap>>;
      const busy = manifest.maps['busy']?.kind === 'array' ? maps['busy'] : undefined;
      if (busy !== undefined) {
        tracker = new ScanTracker(busy, config.threads);
        await tracker.reset();
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
      return new PolicyDeployment(deployment.id, syrup, tracker, refiller, log);
    } catch (error) {
      refiller?.close();
      await syrup.close();
      // A companion refusing the policy's maps (a busy map smaller than --threads, say) is the user's to fix too.
      throw asUsageError(error);
    }
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

  /** True when workers should report their SCANs (the policy has a busy map). */
  get tracksScans(): boolean {
    return this.#tracker !== undefined;
  }

  /** Worker `executor` is about to serve a SCAN; `at` is the worker's process.hrtime in ns. */
  scanStarted(executor: number, at: number): Promise<void> {
    const tracker = this.#tracker;
    if (tracker === undefined || this.#closed) return Promise.resolve();
    return tracker.scanStarted(executor).then(() => this.#markDelay.add((Number(process.hrtime.bigint()) - at) / 1000));
  }

  scanFinished(executor: number): Promise<void> {
    const tracker = this.#tracker;
    if (tracker === undefined || this.#closed) return Promise.resolve();
    return tracker.scanFinished(executor);
  }

  /** Extra facts for the stopped line: marking delays (scan-avoid) and tokens granted (token-qos). */
  stats(): Record<string, unknown> {
    const stats: Record<string, unknown> = {};
    if (this.#tracker !== undefined) stats['scanMarkDelay'] = this.#markDelay.toJSON();
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
    await this.#syrup.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A standard policy by name (from @syrup/policies-std), or a policy file relative to the working directory. */
async function policySource(policy: string): Promise<PolicySource> {
  if ((KV_SERVER_POLICIES as readonly string[]).includes(policy)) {
    return userMistakeAsync(() => readPolicy(`@syrup/policies-std/${policy}`, BENCH_ROOT));
  }
  if (!policy.includes('/') && !/\.[cm]?[jt]s$/.test(policy)) {
    throw new UsageError(`--policy '${policy}' is neither one of ${KV_SERVER_POLICIES.join(', ')} nor a path to a policy file.`);
  }
  return userMistakeAsync(() => readPolicy(resolve(process.cwd(), policy)));
}

/** The framework's refusals (compile errors, verifier rejections, missing privileges) are the user's to fix. */
function asUsageError(error: unknown): unknown {
  if (error instanceof SyrupError || error instanceof SyscallError) return new UsageError(error.message, { cause: error });
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
