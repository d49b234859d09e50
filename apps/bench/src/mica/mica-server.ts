import { Worker } from 'node:worker_threads';
import { ebpfBackendModule } from '@syrup/backend-ebpf';
import { ringOffsets, XskSocketGroup } from '@syrup/backend-ebpf/xsk';
import { embedded, readPolicy, type EmbeddedSyrup } from '@syrup/runtime';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { HandoffMesh } from './handoff-mesh.js';
import { HandoffRing } from './handoff-ring.js';
import { MICA_COUNTERS, MicaCounter, type MicaMode, type MicaWorkerInit, type MicaWorkerMessage } from './mica-worker-protocol.js';

const WORKER_URL = new URL(`./mica-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
const BENCH_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** How often the main thread restocks the FILL ring and reaps completions. */
const FRAME_KEEPING_MS = 1;
const FRAME_SIZE = 2048;
/** Requests each handoff ring holds before a sender drops. */
const HANDOFF_SLOTS = 1024;
const RING_SIZE = 2048;

export interface MicaServerConfig {
  /** The interface (in this process's network namespace) whose XDP hook steers the requests. */
  readonly interface: string;
  readonly port: number;
  readonly threads: number;
  readonly mode: MicaMode;
  readonly keys: number;
  readonly valueSize: number;
  /** UMEM frames (2048 bytes each). */
  readonly frames: number;
}

/** The server process's first stdout line. */
export interface MicaReadyLine {
  readonly ready: true;
  readonly pid: number;
  readonly port: number;
  readonly threads: number;
  readonly mode: MicaMode;
  readonly policy: string;
  /** The workers' kernel thread ids, in worker order (for their CPU time in /proc). */
  readonly tids: readonly number[];
}

/** The server process's last stdout line. */
export interface MicaStoppedLine {
  readonly stopped: true;
  readonly perWorker: ReadonlyArray<Record<keyof typeof MicaCounter, number> & { readonly handoffHighWater: number }>;
  /** Each socket's kernel drops (XDP_STATISTICS: rx_dropped + rx_ring_full). */
  readonly rxDropped: readonly number[];
}

/**
 * The MICA-style key-value server: N worker threads, thread k owning partition k of the keys
 * and AF_XDP socket k, all sockets on queue 0 of one interface sharing one UMEM, and a policy at
 * xdp-drv choosing the socket: key-hash (each request to its key's home thread) or round-robin
 * with the workers handing requests to their home threads (MICA's own way). The main thread
 * owns the sockets, the UMEM and the deployment, and keeps frames moving: it is the one
 * producer of the shared FILL ring and the one consumer of the shared COMPLETION ring.
 */
export class MicaServer implements AsyncDisposable {
  readonly config: MicaServerConfig;
  readonly policy: string;
  readonly #group: XskSocketGroup;
  readonly #syrup: EmbeddedSyrup;
  readonly #mesh: HandoffMesh;
  readonly #returnBuffers: SharedArrayBuffer[];
  readonly #returns: HandoffRing[];
  readonly #control = new SharedArrayBuffer(4);
  readonly #counters: SharedArrayBuffer;
  readonly #workers: { worker: Worker; exited: Promise<void>; tid: number }[] = [];
  #keeper: NodeJS.Timeout | undefined;
  #stopped: Promise<MicaStoppedLine> | undefined;

  private constructor(config: MicaServerConfig, group: XskSocketGroup, syrup: EmbeddedSyrup, policy: string) {
    this.config = config;
    this.#group = group;
    this.#syrup = syrup;
    this.policy = policy;
    this.#mesh = HandoffMesh.create(config.threads, HANDOFF_SLOTS, 8);
    // A return ring per worker that holds every frame of the UMEM, so giving a frame back never waits for long.
    const slots = nextPowerOfTwo(config.frames);
    this.#returnBuffers = Array.from({ length: config.threads }, () => new SharedArrayBuffer(HandoffRing.bytesFor(slots, 8)));
    this.#returns = this.#returnBuffers.map((buffer) => new HandoffRing(buffer, 0, slots, 8));
    this.#counters = new SharedArrayBuffer(config.threads * MICA_COUNTERS * 8);
  }

  /** Opens the sockets, deploys the policy, starts the workers; on failure leaves nothing behind. */
  static async start(config: MicaServerConfig): Promise<MicaServer> {
    const group = await XskSocketGroup.open({
      ifname: config.interface,
      queue: 0,
      count: config.threads,
      frameSize: FRAME_SIZE,
      frameCount: config.frames,
      fillRingSize: nextPowerOfTwo(config.frames),
      completionRingSize: nextPowerOfTwo(config.frames),
      fillTarget: Math.floor(config.frames / 2),
      rxRingSize: RING_SIZE,
      txRingSize: RING_SIZE,
    });
    let syrup: EmbeddedSyrup | undefined;
    try {
      const policy = config.mode === 'key-hash' ? 'key-hash' : 'round-robin';
      const source = await readPolicy(`@syrup/policies-std/${policy}`, BENCH_ROOT);
      syrup = await embedded({ backends: [ebpfBackendModule] });
      await syrup.deploy(source, { hook: 'xdp-drv', interface: config.interface, port: config.port, queue: 0, extra: { xskSockets: group }, params: { SOCKETS: config.threads } });
      const server = new MicaServer(config, group, syrup, policy);
      try {
        await server.#startWorkers();
      } catch (error) {
        await server.stop();
        throw error;
      }
      return server;
    } catch (error) {
      await syrup?.close();
      group.close();
      throw error;
    }
  }

  /** The workers' kernel thread ids, for their CPU time. */
  get threadIds(): readonly number[] {
    return this.#workers.map((w) => w.tid);
  }

  stop(): Promise<MicaStoppedLine> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #startWorkers(): Promise<void> {
    const { config } = this;
    const umem = this.#group.umem;
    this.#keeper = setInterval(() => this.#keepFrames(), FRAME_KEEPING_MS);
    const ready = this.#group.sockets.map((socket, index) => {
      const offsets = ringOffsets(umem.sys, socket.fd);
      const init: MicaWorkerInit = {
        index,
        threads: config.threads,
        mode: config.mode,
        fd: socket.fd.raw,
        rx: { offsets: offsets.rx, size: RING_SIZE },
        tx: { offsets: offsets.tx, size: RING_SIZE },
        umemAddress: umem.address,
        umemLength: umem.memory.byteLength,
        frameSize: umem.frameSize,
        keys: config.keys,
        valueSize: config.valueSize,
        mesh: this.#mesh.layout,
        returns: { buffer: this.#returnBuffers[index]!, slots: this.#returns[index]!.slots },
        control: this.#control,
        counters: this.#counters,
      };
      const worker = new Worker(WORKER_URL, { workerData: init, name: `mica-worker-${index}` });
      const entry = { worker, exited: new Promise<void>((resolve) => worker.once('exit', () => resolve())), tid: 0 };
      this.#workers.push(entry);
      return new Promise<void>((resolve, reject) => {
        worker.on('message', (message: MicaWorkerMessage) => {
          if (message.type === 'ready') {
            entry.tid = message.tid;
            resolve();
          } else reject(new Error(`MICA worker ${index} failed: ${message.message}`));
        });
        worker.on('error', reject);
        worker.on('exit', (code) => reject(new Error(`MICA worker ${index} exited with code ${code}`)));
      });
    });
    await Promise.all(ready);
  }

  /** Frames the workers gave back and the kernel finished sending go back to the FILL ring. */
  #keepFrames(): void {
    const umem = this.#group.umem;
    const entry = new Uint8Array(8);
    const view = new DataView(entry.buffer);
    for (const ring of this.#returns) {
      while (ring.pop(entry) >= 0) umem.releaseFrame(view.getUint32(0, true));
    }
    umem.reapCompletions();
    umem.refill();
  }

  async #stop(): Promise<MicaStoppedLine> {
    // Idle workers look at the stop word every IDLE_WAIT_MS, so none needs waking.
    Atomics.store(new Int32Array(this.#control), 0, 1);
    await Promise.all(this.#workers.map(({ exited }) => exited));
    if (this.#keeper !== undefined) clearInterval(this.#keeper);
    const counters = new Float64Array(this.#counters);
    const names = Object.keys(MicaCounter) as (keyof typeof MicaCounter)[];
    const perWorker = this.#workers.map((_, k) => ({
      ...(Object.fromEntries(names.map((name) => [name, counters[k * MICA_COUNTERS + MicaCounter[name]] as number])) as Record<keyof typeof MicaCounter, number>),
      handoffHighWater: this.#mesh.highWater(k),
    }));
    const rxDropped = this.#group.sockets.map((s) => Number(s.statistics().rxDropped + s.statistics().rxRingFull));
    try {
      await this.#syrup.close();
    } finally {
      this.#group.close();
    }
    return { stopped: true, perWorker, rxDropped };
  }
}

function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(2, n)));
}
