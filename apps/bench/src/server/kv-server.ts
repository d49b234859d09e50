import { Worker } from 'node:worker_threads';
import { describeMode, type KvServerConfig } from './kv-server-options.js';
import { LmdbDirectory } from './lmdb-directory.js';
import { PolicyDeployment } from './policy-deployment.js';
import { ReuseportSocketGroup } from './reuseport-socket-group.js';
import type { ReadyLine, StoppedLine } from './server-lines.js';
import { COUNTERS_PER_WORKER, CounterSlot, type WorkerInit, type WorkerMessage, type WorkerStart, type WorkerStore } from './worker-protocol.js';

/** How long a blocked recvfrom waits before its worker looks at the stop word again. */
const RECEIVE_TIMEOUT_MS = 100;
/** After a stop, how long a worker may take to finish its request before it is terminated (a long `cpu:` spin). */
const STOP_GRACE_MS = 1000;
/** The worker entry next to this module: .ts when run from source through tsx, .js when built. */
const WORKER_URL = new URL(`./udp-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

export interface KvServerEvents {
  /** A line for stderr (the process's log). */
  readonly log: (line: string) => void;
  /** A worker died while serving; the server keeps the others running until `stop()`. */
  readonly onFailure: (error: Error) => void;
}

/**
 * The key-value server in this process: N sockets in one SO_REUSEPORT group, a worker thread
 * per socket, and optionally a policy steering datagrams among them. `start` either returns
 * a serving server or throws with nothing left behind (sockets closed, policy undeployed,
 * workers gone, data removed).
 */
export class KvServer implements AsyncDisposable {
  readonly config: KvServerConfig;
  readonly #sockets: ReuseportSocketGroup;
  readonly #data: LmdbDirectory | undefined;
  readonly #policy: PolicyDeployment | undefined;
  readonly #workers: { readonly worker: Worker; readonly exited: Promise<void> }[] = [];
  readonly #control = new SharedArrayBuffer(4);
  readonly #counters: SharedArrayBuffer;
  readonly #onFailure: (error: Error) => void;
  #failure: Error | undefined;
  /** Set once every worker is ready: failures before that reject `start` instead. */
  #serving = false;
  #stopped: Promise<StoppedLine> | undefined;

  private constructor(config: KvServerConfig, sockets: ReuseportSocketGroup, data: LmdbDirectory | undefined, policy: PolicyDeployment | undefined, events: KvServerEvents) {
    this.config = config;
    this.#sockets = sockets;
    this.#data = data;
    this.#policy = policy;
    this.#counters = new SharedArrayBuffer(config.threads * COUNTERS_PER_WORKER * 8);
    this.#onFailure = events.onFailure;
  }

  static async start(config: KvServerConfig, events: KvServerEvents): Promise<KvServer> {
    const { log } = events;
    const sockets = ReuseportSocketGroup.open({
      address: config.address,
      port: config.port,
      count: config.threads,
      receiveBuffer: config.receiveBuffer,
      receiveTimeoutMs: RECEIVE_TIMEOUT_MS,
    });
    let data: LmdbDirectory | undefined;
    let policy: PolicyDeployment | undefined;
    try {
      if (config.store === 'lmdb') data = LmdbDirectory.create(config.keys, config.valueSize);
      // Deployed before the workers start: datagrams that arrive meanwhile wait in the sockets' buffers.
      // (A thread policy is deployed once the workers exist, see #startWorkers.)
      if (config.policy !== 'linux-default' || config.threadPolicy !== undefined) policy = await PolicyDeployment.deploy(config, sockets.sockets, log);
    } catch (error) {
      await policy?.close();
      data?.close();
      sockets.close();
      throw error;
    }
    const server = new KvServer(config, sockets, data, policy, events);
    try {
      await server.#startWorkers();
      policy?.yieldToWorkers();
      server.#serving = true;
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /** Why a worker died while serving, if one did. */
  get failure(): Error | undefined {
    return this.#failure;
  }

  readyLine(): ReadyLine {
    return {
      ready: true,
      pid: process.pid,
      port: this.config.port,
      threads: this.config.threads,
      mode: describeMode(this.config),
      policy: this.config.policy,
      deployment: this.#policy?.id ?? null,
      ...(this.#policy?.thread === undefined ? {} : { threadPolicy: this.#policy.thread.policy, threadDeployment: this.#policy.thread.id, agentTids: this.#policy.thread.agentTids }),
    };
  }

  /** Stops the workers, undeploys, closes the sockets and removes the data; calling it again returns the same result. */
  stop(): Promise<StoppedLine> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #stop(): Promise<StoppedLine> {
    const stop = new Int32Array(this.#control);
    Atomics.store(stop, 0, 1);
    // Wakes workers sleeping in a `block:` service time; those in recvfrom notice within RECEIVE_TIMEOUT_MS.
    Atomics.notify(stop, 0);
    await Promise.all(
      this.#workers.map(async ({ worker, exited }) => {
        const grace = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
        await exited;
        clearTimeout(grace);
      }),
    );
    const counters = new Float64Array(this.#counters);
    const count = (k: number, slot: number): number => counters[k * COUNTERS_PER_WORKER + slot] as number;
    const workers = Array.from({ length: this.config.threads }, (_, k) => k);
    const sum = (slot: number): number => workers.reduce((s, k) => s + count(k, slot), 0);
    const stats = this.#policy?.stats() ?? {};
    try {
      await this.#policy?.close();
    } finally {
      // The fds outlive the workers' use of them: closed only once every worker has exited.
      this.#sockets.close();
      this.#data?.close();
    }
    return {
      stopped: true,
      servedPerWorker: workers.map((k) => count(k, CounterSlot.SERVED)),
      byType: { get: sum(CounterSlot.GET), scan: sum(CounterSlot.SCAN), put: sum(CounterSlot.PUT) },
      ignored: sum(CounterSlot.IGNORED),
      ...stats,
    };
  }

  /**
   * Starts the workers in two steps: each tells its thread id; then, with the thread policy
   * deployed over those threads (if any), each gets its start message and serves.
   */
  async #startWorkers(): Promise<void> {
    const { config } = this;
    const store: WorkerStore =
      this.#data === undefined
        ? { kind: 'synthetic', valueSize: config.valueSize, scanLength: config.scanLength }
        : { kind: 'lmdb', path: this.#data.path, valueSize: config.valueSize, scanLength: config.scanLength };
    const started = this.#sockets.sockets.map((socket, index) => {
      const init: WorkerInit = { index, fd: socket.raw, store, times: config.times, control: this.#control, counters: this.#counters };
      const worker = new Worker(WORKER_URL, { workerData: init, name: `kv-worker-${index}` });
      this.#workers.push({ worker, exited: new Promise((resolve) => worker.once('exit', () => resolve())) });
      let told!: (tid: number) => void;
      let ready!: () => void;
      const thread = new Promise<number>((resolve) => (told = resolve));
      const serving = new Promise<void>((resolve, reject) => {
        ready = resolve;
        const fail = (error: Error): void => {
          reject(error);
          this.#workerFailed(index, error);
        };
        worker.on('message', (message: WorkerMessage) => {
          if (message.type === 'thread') told(message.tid);
          else if (message.type === 'ready') ready();
          else fail(new Error(message.message));
        });
        worker.on('error', fail);
        worker.on('exit', (code) => fail(new Error(`it exited with code ${code}`)));
      });
      // A worker that fails before telling its thread id fails the start through `serving`; the
      // others' failures are awaited below, or not at all once the start has failed.
      serving.catch(() => undefined);
      return { worker, thread: Promise.race([thread, serving.then(() => 0)]), serving };
    });
    const tids = await Promise.all(started.map((s) => s.thread));
    await this.#policy?.deployThreadPolicy(tids);
    const start: WorkerStart = { busyMap: this.#policy?.busyMapFd, announceScans: this.#policy?.thread !== undefined };
    for (const { worker } of started) worker.postMessage(start);
    await Promise.all(started.map((s) => s.serving));
  }

  /** A worker that fails or exits on its own (not after a stop) is reported once; the owner decides to stop. */
  #workerFailed(index: number, error: Error): void {
    if (!this.#serving || this.#stopped !== undefined || this.#failure !== undefined) return;
    this.#failure = new Error(`worker ${index} failed: ${error.message}`, { cause: error });
    this.#onFailure(this.#failure);
  }
}
