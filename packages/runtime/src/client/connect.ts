import { createConnection, type Socket } from 'node:net';
import type { PolicySource } from '@syrup/core';
import type { z } from 'zod';
import { ProtocolError, RemoteError } from '../errors/runtime-error.js';
import {
  DEFAULT_SOCKET_PATH,
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
import type { ClientDeployOptions, ClientDisasmOptions, SyrupClient } from './syrup-client.js';

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

interface Pending {
  resolve(result: unknown): void;
  reject(error: Error): void;
  progress?: ((stage: ServiceStage) => void) | undefined;
}

type Params = Readonly<Record<string, number | bigint>>;

/** Newline-delimited JSON over the Unix socket; responses are matched to requests by id. */
class WireTransport implements ClientTransport {
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #buffer = '';
  #closedReason: string | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly socketPath: string,
  ) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.#receive(chunk));
    socket.on('error', (error) => this.#fail(`the connection to syrupd at ${socketPath} failed: ${error.message}`));
    socket.on('close', () => this.#fail(`syrupd at ${socketPath} closed the connection`));
  }

  static open(socketPath: string): Promise<WireTransport> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(socketPath);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(new WireTransport(socket, socketPath));
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        const hint = error.code === 'ENOENT' || error.code === 'ECONNREFUSED' ? 'is it running? Start it with `syrup daemon`' : error.message;
        reject(new ProtocolError('PROTOCOL_CONNECTION', `cannot reach syrupd at ${socketPath}: ${hint}.`, { cause: error }));
      });
    });
  }

  async deploy(policy: PolicySource, options: ClientDeployOptions, onStage?: (stage: ServiceStage) => void): Promise<WireDeploymentInfo> {
    const { hook, params, onProgress: _onProgress, ...target } = options;
    const fields = { hook, policy, target, ...(params !== undefined ? { params: wireParams(params) } : {}), ...(onStage !== undefined ? { progress: true } : {}) };
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
      return Promise.reject(new ProtocolError('PROTOCOL_CONNECTION', `${this.#closedReason}.`));
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
      if (pending === undefined || key === undefined) continue;
      this.#pending.delete(key);
      if (response.ok) pending.resolve(response.result);
      else pending.reject(new RemoteError(response.error.code, response.error.message));
    }
  }

  #fail(reason: string): void {
    this.#closedReason ??= reason;
    for (const pending of this.#pending.values()) pending.reject(new ProtocolError('PROTOCOL_CONNECTION', `${reason}.`));
    this.#pending.clear();
  }
}

function wireParams(params: Params): Record<string, number | string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]));
}
