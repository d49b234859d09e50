import { createConnection, type Socket } from 'node:net';
import type { PolicySource } from '@syrup/core';
import type { z } from 'zod';
import { ProtocolError, RemoteError } from '../errors/runtime-error.js';
import {
  DEFAULT_SOCKET_PATH,
  EventLineSchema,
  PROTOCOL_VERSION,
  ProgressLineSchema,
  ResponseSchema,
  ResultSchemas,
  decodeMapValue,
  encodeMapValue,
  type RequestOp,
  type ServiceStage,
  type WireDeploymentInfo,
  type WireHookInfo,
  type WireStatus,
} from '../protocol/protocol-schema.js';
import { BaseClient } from './base-client.js';
import type { ClientTransport } from './client-transport.js';
import type { ClientDeployOptions, ClientDeploymentEvent, ClientDisasmOptions, SyrupClient } from './syrup-client.js';

export interface ConnectOptions {
  /** syrupd's socket; defaults to $SYRUP_SOCKET, then DEFAULT_SOCKET_PATH. */
  readonly socketPath?: string;
  /** Where relative policy paths and package specifiers resolve from; defaults to process.cwd(). */
  readonly cwd?: string;
}

/** Connects to syrupd. Policies are read here, on the client side, and sent as text. */
export async function connect(options: ConnectOptions = {}): Promise<SyrupClient> {
  const socketPath = options.socketPath ?? process.env['SYRUP_SOCKET'] ?? DEFAULT_SOCKET_PATH;
  const transport = await WireTransport.open(socketPath);
  return new BaseClient(transport, options.cwd ?? process.cwd());
}

/** How long connect() keeps retrying while syrupd's listen queue is full. */
const BUSY_RETRY_MS = 5000;

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  progress?: ((stage: ServiceStage) => void) | undefined;
}

type Params = Readonly<Record<string, number | bigint>>;

/** Newline-delimited JSON over the Unix socket; responses are matched to requests by id. */
class WireTransport implements ClientTransport {
  readonly #pending = new Map<number, Pending>();
  /** Listeners of watched deployments, by id; the server is asked to watch each id once per connection. */
  readonly #watchers = new Map<string, Set<(event: ClientDeploymentEvent) => void>>();
  readonly #watching = new Map<string, Promise<unknown>>();
  #nextId = 1;
  #buffer = '';
  #closedReason: string | undefined;
  /** A refusal the server sent when no request was waiting (the connection was refused or closed for idleness): why later calls fail. */
  #farewell: RemoteError | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly socketPath: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(chunk));
    socket.on('error', (error) => this.#fail(`the connection to syrupd at ${socketPath} failed: ${error.message}`));
    socket.on('close', () => this.#fail(`syrupd at ${socketPath} closed the connection`));
  }

  /**
   * Connects, retrying for up to BUSY_RETRY_MS while the kernel answers EAGAIN: syrupd's listen
   * queue is full for a moment (a burst of connections, perhaps another tenant's flood that
   * syrupd is busy refusing), which a Unix socket reports at once instead of waiting.
   */
  static async open(socketPath: string): Promise<WireTransport> {
    const deadline = Date.now() + BUSY_RETRY_MS;
    for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
      try {
        return await WireTransport.#openOnce(socketPath);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code !== 'EAGAIN' || Date.now() + delay > deadline) {
          const hint =
            code === 'ENOENT' || code === 'ECONNREFUSED'
              ? 'is it running? Start it with `syrup daemon`'
              : code === 'EAGAIN'
                ? `its connection queue stayed full for ${BUSY_RETRY_MS} ms`
                : (error as Error).message;
          throw new ProtocolError('PROTOCOL_CONNECTION', `cannot reach syrupd at ${socketPath}: ${hint}.`, { cause: error });
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  static #openOnce(socketPath: string): Promise<WireTransport> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(new WireTransport(socket, socketPath));
      });
      socket.once('error', reject);
    });
  }

  async deploy(policy: PolicySource, options: ClientDeployOptions, onStage?: (stage: ServiceStage) => void): Promise<WireDeploymentInfo> {
    const { hook, params, shareMaps, onProgress: _onProgress, ...target } = options;
    const fields = {
      hook,
      policy,
      target,
      ...(params !== undefined ? { params: wireParams(params) } : {}),
      ...(shareMaps !== undefined && shareMaps.length > 0 ? { shareMaps: [...shareMaps] } : {}),
      ...(onStage !== undefined ? { progress: true } : {}),
    };
    return this.#call('deploy', fields, onStage);
  }

  replace(id: string, policy: PolicySource, params?: Params, onStage?: (stage: ServiceStage) => void): Promise<WireDeploymentInfo> {
    const fields = { deployment: id, policy, ...(params !== undefined ? { params: wireParams(params) } : {}), ...(onStage !== undefined ? { progress: true } : {}) };
    return this.#call('replace', fields, onStage);
  }

  async disasm(policy: PolicySource, options: ClientDisasmOptions): Promise<string[]> {
    const { hook, params, target } = options;
    const fields = { hook, policy, ...(params !== undefined ? { params: wireParams(params) } : {}), ...(target !== undefined ? { target } : {}) };
    return (await this.#call('disasm', fields)).lines;
  }

  async undeploy(id: string): Promise<void> {
    await this.#call('undeploy', { deployment: id });
  }

  list(): Promise<WireDeploymentInfo[]> {
    return this.#call('list', {});
  }

  async mapGet(id: string, map: string, key: number): Promise<bigint | bigint[]> {
    return decodeMapValue((await this.#call('map.get', { deployment: id, map, key })).value);
  }

  async mapSet(id: string, map: string, key: number, value: bigint | readonly bigint[]): Promise<void> {
    await this.#call('map.set', { deployment: id, map, key, value: encodeMapValue(value) });
  }

  async mapDump(id: string, map: string): Promise<[number, bigint | bigint[]][]> {
    return (await this.#call('map.dump', { deployment: id, map })).map(([k, v]) => [k, decodeMapValue(v)]);
  }

  async mapDelete(id: string, map: string, key: number): Promise<boolean> {
    return (await this.#call('map.delete', { deployment: id, map, key })).deleted;
  }

  async mapFetchAdd(id: string, map: string, key: number, delta: bigint): Promise<bigint> {
    return BigInt((await this.#call('map.fetchAdd', { deployment: id, map, key, delta: delta.toString() })).old);
  }

  async mapCompareExchange(id: string, map: string, key: number, expected: bigint, desired: bigint): Promise<bigint> {
    return BigInt((await this.#call('map.compareExchange', { deployment: id, map, key, expected: expected.toString(), desired: desired.toString() })).old);
  }

  async watch(id: string, listener: (event: ClientDeploymentEvent) => void): Promise<() => void> {
    let listeners = this.#watchers.get(id);
    if (listeners === undefined) {
      listeners = new Set();
      this.#watchers.set(id, listeners);
    }
    listeners.add(listener);
    const stop = (): void => {
      this.#watchers.get(id)?.delete(listener);
    };
    let asked = this.#watching.get(id);
    if (asked === undefined) {
      asked = this.#call('watch', { deployment: id });
      this.#watching.set(id, asked);
      // A refused watch (the deployment is gone) may be asked again by a later handle.
      asked.catch(() => {
        if (this.#watching.get(id) === asked) this.#watching.delete(id);
      });
    }
    try {
      await asked;
    } catch (error) {
      stop();
      throw error;
    }
    return stop;
  }

  hooks(): Promise<WireHookInfo[]> {
    return this.#call('hooks', {});
  }

  status(): Promise<WireStatus> {
    return this.#call('status', {});
  }

  async close(): Promise<void> {
    this.#closedReason ??= 'the client was closed';
    if (this.socket.destroyed) return;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end();
    });
  }

  #call<Op extends RequestOp>(op: Op, fields: Record<string, unknown>, progress?: (stage: ServiceStage) => void): Promise<z.infer<(typeof ResultSchemas)[Op]>> {
    if (this.#closedReason !== undefined) {
      return Promise.reject(this.#farewell ?? new ProtocolError('PROTOCOL_CONNECTION', `${this.#closedReason}.`));
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve: (result) => {
          const parsed = ResultSchemas[op].safeParse(result);
          if (parsed.success) resolve(parsed.data as z.infer<(typeof ResultSchemas)[Op]>);
          else reject(new ProtocolError('PROTOCOL_MALFORMED', `syrupd answered '${op}' with a result this client does not understand.`));
        },
        reject,
        progress,
      });
      this.socket.write(`${JSON.stringify({ v: PROTOCOL_VERSION, id, op, ...fields })}\n`);
    });
  }

  #receive(chunk: string): void {
    this.#buffer += chunk;
    for (let nl = this.#buffer.indexOf('\n'); nl !== -1; nl = this.#buffer.indexOf('\n')) {
      const text = this.#buffer.slice(0, nl);
      this.#buffer = this.#buffer.slice(nl + 1);
      let response;
      try {
        const raw: unknown = JSON.parse(text);
        if (typeof raw === 'object' && raw !== null && Object.hasOwn(raw, 'event')) {
          // Pushed by the server for a watched deployment; it answers no request.
          this.#event(EventLineSchema.parse(raw));
          continue;
        }
        const progress = ProgressLineSchema.safeParse(raw);
        if (progress.success) {
          // A stage of a request still running: its response follows.
          const pending = typeof progress.data.id === 'number' ? this.#pending.get(progress.data.id) : undefined;
          pending?.progress?.(progress.data.progress);
          continue;
        }
        response = ResponseSchema.parse(raw);
      } catch {
        this.#fail(`syrupd at ${this.socketPath} sent a line that is not a protocol response`);
        this.socket.destroy();
        return;
      }
      // A refusal of a line the server could not read (too large, not JSON) has no id; the server
      // answers lines in order, so it belongs to the oldest request still waiting.
      const key = typeof response.id === 'number' ? response.id : response.id === null && !response.ok ? this.#pending.keys().next().value : undefined;
      const pending = key === undefined ? undefined : this.#pending.get(key);
      if (!response.ok && response.id === null && pending === undefined) this.#farewell = new RemoteError(response.error.code, response.error.message);
      if (pending === undefined || key === undefined) continue;
      this.#pending.delete(key);
      if (response.ok) pending.resolve(response.result);
      else pending.reject(new RemoteError(response.error.code, response.error.message));
    }
  }

  #event(line: z.infer<typeof EventLineSchema>): void {
    const listeners = [...(this.#watchers.get(line.deployment) ?? [])];
    if (line.event === 'undeployed') {
      // The server's watch ended with the deployment.
      this.#watchers.delete(line.deployment);
      this.#watching.delete(line.deployment);
    }
    const event: ClientDeploymentEvent = line.event === 'undeployed' ? { event: 'undeployed', reason: line.reason } : { event: 'replaced', info: line.info };
    for (const listener of listeners) listener(event);
  }

  #fail(reason: string): void {
    this.#closedReason ??= reason;
    for (const pending of this.#pending.values()) pending.reject(this.#farewell ?? new ProtocolError('PROTOCOL_CONNECTION', `${reason}.`));
    this.#pending.clear();
  }
}

function wireParams(params: Params): Record<string, number | string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
}
