import { chmodSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { isRefusal, type DeployOptions, type DeployTarget, type HookId } from '@syrup/core';
import { MapError } from '@syrup/maps';
import { inject, injectable } from 'tsyringe';
import { RuntimeError } from '../errors/runtime-error.js';
import { LimitError } from '../service/limits/limit-error.js';
import { RuntimeLimits, tenantLimits } from '../service/limits/runtime-limits.js';
import { RuntimeService, type Caller, type RuntimeDeploymentInfo } from '../service/runtime-service.js';
import { connectionCap, connectionLimits, type ConnectionLimits, type ConnectionLoad } from './connection-limits.js';
import { DaemonBackends } from './daemon-backends.js';
import { PeerCredentials, ProtocolServerOptions, type PeerIdentity } from './peer-credentials.js';
import {
  DEFAULT_SOCKET_PATH,
  MAX_REQUEST_BYTES,
  PROTOCOL_VERSION,
  REQUEST_OPS,
  RequestSchema,
  decodeMapValue,
  encodeMapValue,
  type EventLine,
  type ProgressLine,
  type Request,
  type Response,
  type ServiceStage,
  type WireDeploymentInfo,
} from './protocol-schema.js';
import { RequestAudit, type AuditEntry } from './request-audit.js';
import { RequestLines } from './request-lines.js';
import { MAX_REQUEST_NESTING, scanRequestNesting } from './request-nesting.js';
import { wireHookInfo } from './wire-hook-info.js';

type RequestId = string | number | null;

/** One accepted connection's watches: deployment id -> the function that stops watching it. */
interface Connection {
  /** Aborted when the connection closes: compiles still queued or running for it are withdrawn (issue #15). */
  readonly signal: AbortSignal;
  readonly watches: Map<string, () => void>;
  /** Writes a pushed line (an event) unless the connection is gone. */
  push(line: EventLine): void;
  readonly closed: boolean;
}

/**
 * Serves a {@link RuntimeService} over newline-delimited JSON on a Unix stream socket. Every
 * line is one request and gets one response line, in order. A line that is not a valid
 * request is answered with a one-sentence refusal and the connection goes on; a line longer
 * than the limit is refused and skipped up to its newline, so the next request still parses;
 * a line nesting deeper than MAX_REQUEST_NESTING is refused before it is parsed. Work for a
 * connection ends with it: requests it pipelined and not yet started are dropped, and its
 * compile in the service's queue or worker is withdrawn.
 *
 * Connections are bounded (connection-limits.ts): a uid over its connection cap is refused in
 * one line and hung up on, an idle connection is closed with a last line saying so, and a
 * client that pipelines without reading its answers is paused, not buffered for.
 */
@injectable()
export class ProtocolServer {
  readonly #server: Server;
  /** Every accepted socket, refused ones until they are closed too: close() ends them all. */
  readonly #sockets = new Set<Socket>();
  /** The served connections' loads. */
  readonly #loads = new Map<Socket, () => ConnectionLoad>();
  /** Open served connections by uid, against the per-uid cap. */
  readonly #openByUid = new Map<number, number>();
  readonly #connectionLimits: ConnectionLimits;
  readonly #started = Date.now();
  readonly #socketPath: string;
  readonly #maxRequestBytes: number;
  readonly #limits: RuntimeLimits | undefined;
  readonly #socketMode: number;

  constructor(
    @inject(RuntimeService) private readonly service: RuntimeService,
    @inject(PeerCredentials) private readonly credentials: PeerCredentials,
    @inject(ProtocolServerOptions) options: ProtocolServerOptions,
    // Per-tenant request size (service/limits/runtime-limits.ts); without it every tenant gets options.maxRequestBytes.
    @inject(RuntimeLimits, { isOptional: true }) limits?: RuntimeLimits,
    // The daemon's account of its backend packages, for `status` and `hooks`; none when embedded in a test.
    @inject(DaemonBackends, { isOptional: true }) private readonly daemonBackends?: DaemonBackends,
    // Where each answered request and refused connection is reported (syrupd's log); nothing is audited without it.
    @inject(RequestAudit, { isOptional: true }) private readonly audit?: RequestAudit,
  ) {
    this.#socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
    this.#maxRequestBytes = options.maxRequestBytes ?? MAX_REQUEST_BYTES;
    this.#limits = limits;
    this.#socketMode = options.socketMode ?? 0o666;
    this.#connectionLimits = connectionLimits(options.connectionLimits);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  get socketPath(): string {
    return this.#socketPath;
  }

  /** Binds the socket path (removing a stale socket file left by a crashed daemon) and listens. */
  async listen(): Promise<void> {
    mkdirSync(dirname(this.#socketPath), { recursive: true, mode: 0o755 });
    try {
      if (statSync(this.#socketPath).isSocket()) rmSync(this.#socketPath);
    } catch {
      // Nothing there.
    }
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen({ path: this.#socketPath, backlog: LISTEN_BACKLOG }, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.#socketPath, this.#socketMode);
  }

  /** Stops accepting, ends open connections and removes the socket file. Deployments stay (the service owns them). */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    rmSync(this.#socketPath, { force: true });
  }

  /** The load of every served connection now: what each holds against its bounds (for tests and diagnostics). */
  connectionLoads(): ConnectionLoad[] {
    return [...this.#loads.values()].map((load) => load());
  }

  /** Identifies the caller and admits the connection under its uid's cap, or refuses it in one line and hangs up. */
  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let peer: PeerIdentity;
    try {
      peer = this.credentials.of(socket);
    } catch (error) {
      // Without knowing who asks, nothing can be authorised: refuse and hang up.
      hangUp(socket, line(refusal(null, 'PEER_UNKNOWN', `the server could not identify the caller: ${messageOf(error)}`)));
      return;
    }
    const cap = connectionCap(this.#connectionLimits, peer.uid);
    const open = this.#openByUid.get(peer.uid) ?? 0;
    if (open >= cap) {
      // Refused before anything is read or allocated for it, and closed at once: a descriptor is what a flood takes.
      const error = new LimitError('LIMIT_CONNECTIONS', `uid ${peer.uid} already has ${open} connections open, the --max-connections limit.`, cap);
      this.#audit({ uid: peer.uid, pid: peer.pid, op: 'connect', outcome: error.code, durationMs: 0 });
      hangUp(socket, line(refusal(null, error.code, error.message)));
      return;
    }
    this.#openByUid.set(peer.uid, open + 1);
    socket.on('close', () => {
      const left = (this.#openByUid.get(peer.uid) ?? 1) - 1;
      if (left > 0) this.#openByUid.set(peer.uid, left);
      else this.#openByUid.delete(peer.uid);
    });
    this.#serve(socket, peer);
  }

  /**
   * Reads requests and answers them in order. Invariant: the connection holds at most
   * maxPipelinedRequests requests unanswered, and takes no new request while its unread answers
   * reach maxUnreadReplyBytes; at either bound the socket is paused, so the kernel's buffers fill
   * and the client's writes block (backpressure; nothing is refused). What it holds beyond that is
   * one read's worth of unscanned bytes and one unfinished line, itself bounded by the request size.
   */
  #serve(socket: Socket, peer: PeerIdentity): void {
    const limits = this.#connectionLimits;
    // The line limit is the tenant's, known since accept: a tenant cannot make the daemon buffer more.
    const maxRequestBytes = tenantLimits({ ...this.#limits, maxRequestBytes: this.#limits?.maxRequestBytes ?? this.#maxRequestBytes }, peer.uid).maxRequestBytes;
    const lines = new RequestLines(maxRequestBytes);
    /** Requests taken and not yet answered. */
    let inFlight = 0;
    /** A request is being performed (not merely waiting for the client to read earlier answers). */
    let performing = false;
    /** The queue's wait for the client to read, if it is waiting. */
    let wake: (() => void) | undefined;
    let queue = Promise.resolve();
    const gone = new AbortController();
    const connection: Connection = {
      signal: gone.signal,
      watches: new Map(),
      push: (event) => write(`${JSON.stringify(event)}\n`),
      get closed() {
        return socket.destroyed;
      },
    };
    const unreadFull = (): boolean => socket.writableLength >= limits.maxUnreadReplyBytes;
    const blocked = (): boolean => inFlight >= limits.maxPipelinedRequests || unreadFull();
    // Each write's callback runs once its bytes reached the kernel, i.e. the client made room by reading.
    const flushed = (): void => {
      if (wake !== undefined && !unreadFull()) wake();
      take();
    };
    // Once the server has hung up (idle), nothing more is written or taken.
    const over = (): boolean => socket.destroyed || socket.writableEnded;
    const write = (text: string): void => {
      if (!over()) socket.write(text, flushed);
    };
    const idle = setTimeout(function expire() {
      // A running request or an open watch is business, however long it lasts.
      if (performing || connection.watches.size > 0) {
        idle.refresh();
        return;
      }
      const error = new LimitError('LIMIT_IDLE', `the connection was idle for ${limits.idleTimeoutMs} ms, the --idle-timeout-ms limit, so the server closed it.`, limits.idleTimeoutMs);
      hangUp(socket, line(refusal(null, error.code, error.message)));
    }, limits.idleTimeoutMs);
    // The server's listening socket keeps the process alive; a connection's timer need not.
    idle.unref();
    const answer = (respond: () => Promise<Response>): void => {
      inFlight++;
      queue = queue
        .then(async () => {
          // Answers the client has not read stay in this process: perform nothing more until it reads them (or goes).
          if (unreadFull()) {
            await new Promise<void>((resolve) => {
              wake = resolve;
            });
          }
          wake = undefined;
          if (over()) return;
          performing = true;
          let response: Response;
          try {
            response = await respond();
          } finally {
            performing = false;
          }
          write(encoded(response));
        })
        // #handle answers every failure itself; this only keeps one broken write from stalling the queue.
        .catch(() => {
          socket.destroy();
        })
        .then(() => {
          inFlight--;
          idle.refresh();
          take();
        });
    };
    const tooLarge = (): Promise<Response> => Promise.resolve(refusal(null, 'PROTOCOL_TOO_LARGE', `the request is larger than the limit of ${maxRequestBytes} bytes.`));
    /** Takes the lines there is room for, then reads on only if everything received was looked at and there is room for more. */
    const take = (): void => {
      if (over()) return;
      while (!blocked()) {
        const next = lines.next();
        if (next === undefined) break;
        idle.refresh();
        if ('tooLarge' in next) answer(tooLarge);
        else answer(() => this.#audited(next.text, peer, connection, (progress) => write(`${JSON.stringify(progress)}\n`)));
      }
      if (lines.scanned && !blocked()) socket.resume();
      else socket.pause();
    };
    this.#loads.set(socket, () => ({
      uid: peer.uid,
      requestsInFlight: inFlight,
      unreadReplyBytes: socket.writableLength,
      heldRequestBytes: socket.readableLength + lines.heldBytes,
      reading: !socket.isPaused(),
    }));
    socket.on('close', () => {
      clearTimeout(idle);
      gone.abort();
      wake?.();
      this.#loads.delete(socket);
      // The watches end with the connection: nobody is left to hear them.
      for (const stop of connection.watches.values()) stop();
      connection.watches.clear();
    });
    socket.on('data', (chunk: Buffer) => {
      // After the hang-up nothing more is answered, so nothing more is kept.
      if (over()) return;
      lines.push(chunk);
      take();
    });
  }

  /** #handle, reported to the audit sink (when there is one) with what was asked and how it ended. */
  async #audited(text: string, peer: PeerIdentity, connection: Connection, sendProgress: (line: ProgressLine) => void): Promise<Response> {
    if (this.audit === undefined) return this.#handle(text, peer, connection, sendProgress);
    const started = performance.now();
    const response = await this.#handle(text, peer, connection, sendProgress);
    this.#audit({
      uid: peer.uid,
      pid: peer.pid,
      ...auditedRequest(text),
      outcome: response.ok ? 'ok' : response.error.code,
      durationMs: Math.round((performance.now() - started) * 10) / 10,
    });
    return response;
  }

  #audit(entry: AuditEntry): void {
    try {
      this.audit?.record(entry);
    } catch {
      // The audit is the operator's record, not the tenant's business: a broken sink never fails a request.
    }
  }

  /**
   * The one response to one request line. Invariant: it never throws or rejects, whatever the
   * line holds: every failure, validation included, is a one-sentence refusal carrying the
   * line's id when it has a readable one (null otherwise), so the connection goes on.
   */
  async #handle(text: string, peer: PeerIdentity, connection: Connection, sendProgress: (line: ProgressLine) => void): Promise<Response> {
    let id: RequestId = null;
    try {
      if (text.trim() === '') return refusal(null, 'PROTOCOL_MALFORMED', 'the request is an empty line.');
      // Before anything that recurses per level (zod's z.json() for target.extra): a few KB of brackets would exhaust the stack.
      const nesting = scanRequestNesting(text, MAX_REQUEST_NESTING);
      if (nesting.tooDeep) return refusal(nesting.id, 'PROTOCOL_MALFORMED', `the request nests deeper than ${MAX_REQUEST_NESTING} levels.`);
      let raw: unknown;
      try {
        raw = JSON.parse(text);
      } catch {
        return refusal(null, 'PROTOCOL_MALFORMED', 'the request is not valid JSON.');
      }
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
        return refusal(null, 'PROTOCOL_MALFORMED', 'the request is not a JSON object.');
      }
      const record = raw as Record<string, unknown>;
      id = typeof record['id'] === 'string' || typeof record['id'] === 'number' ? record['id'] : null;
      if (record['v'] !== PROTOCOL_VERSION) {
        return refusal(id, 'PROTOCOL_VERSION', `protocol version ${JSON.stringify(record['v'] ?? null)} is not supported; this server speaks version ${PROTOCOL_VERSION}.`);
      }
      if (typeof record['op'] !== 'string' || !(REQUEST_OPS as readonly string[]).includes(record['op'])) {
        return refusal(id, 'PROTOCOL_UNKNOWN_OP', `unknown op ${JSON.stringify(record['op'] ?? null)}; known ops are ${REQUEST_OPS.join(', ')}.`);
      }
      const parsed = RequestSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const where = issue === undefined || issue.path.length === 0 ? 'the request' : `field '${issue.path.join('.')}'`;
        return refusal(id, 'PROTOCOL_MALFORMED', `${where} is invalid: ${issue?.message ?? 'it does not match the schema'}.`);
      }
      const request = parsed.data;
      const onStage =
        (request.op === 'deploy' || request.op === 'replace') && request.progress === true
          ? (stage: ServiceStage) => sendProgress({ v: PROTOCOL_VERSION, id: request.id, progress: stage })
          : undefined;
      return { v: PROTOCOL_VERSION, id, ok: true, result: await this.#perform(request, peer, connection, onStage) };
    } catch (error) {
      // A map's own refusals (MAP_NOT_ATOMIC, MAP_KEY_OUT_OF_RANGE...) keep their codes too; other low-level errors are INTERNAL.
      return refusal(id, isRefusal(error) || error instanceof MapError ? error.code : 'INTERNAL', messageOf(error));
    }
  }

  /** Fields that hold live descriptors (the hook's `localOnly`) would name this daemon's own, not the caller's. */
  async #refuseLocalOnly(hook: string, target: DeployTarget): Promise<void> {
    const spec = (await this.service.hooks()).find((h) => h.hook.id === hook)?.hook;
    for (const [field, refusal] of Object.entries(spec?.localOnly ?? {})) {
      if (Object.hasOwn(target, field) || (target.extra !== undefined && Object.hasOwn(target.extra, field))) throw new RuntimeError('INVALID_ARGUMENT', refusal);
    }
  }

  async #perform(request: Request, peer: PeerIdentity, connection: Connection, onStage: ((stage: ServiceStage) => void) | undefined): Promise<unknown> {
    const caller: Caller = peer;
    switch (request.op) {
      case 'deploy': {
        await this.#refuseLocalOnly(request.hook, request.target);
        const options: DeployOptions = {
          ...request.target,
          hook: request.hook as HookId,
          ...(request.params !== undefined ? { params: paramsOf(request.params) } : {}),
          ...(request.shareMaps !== undefined && request.shareMaps.length > 0 ? { shareMaps: request.shareMaps } : {}),
        };
        const deployment = await this.service.deploy(request.policy, options, caller, onStage, connection.signal);
        return wireInfo(this.service.info(deployment.id, caller));
      }
      case 'replace':
        return wireInfo(await this.service.replace(request.deployment, request.policy, caller, request.params && paramsOf(request.params), onStage, connection.signal));
      case 'undeploy':
        await this.service.undeploy(request.deployment, caller);
        return { undeployed: request.deployment };
      case 'list':
        return (await this.service.deployments(caller)).map(wireInfo);
      case 'map.get':
        return { value: encodeMapValue(await this.service.mapGet(request.deployment, request.map, request.key, caller)) };
      case 'map.set':
        await this.service.mapSet(request.deployment, request.map, request.key, decodeMapValue(request.value), caller);
        return { ok: true };
      case 'map.dump':
        return (await this.service.mapDump(request.deployment, request.map, caller)).map(([k, v]) => [k, encodeMapValue(v)]);
      case 'map.delete':
        return { deleted: await this.service.mapDelete(request.deployment, request.map, request.key, caller) };
      case 'map.fetchAdd':
        return { old: (await this.service.mapFetchAdd(request.deployment, request.map, request.key, BigInt(request.delta), caller)).toString() };
      case 'map.compareExchange': {
        const old = await this.service.mapCompareExchange(request.deployment, request.map, request.key, BigInt(request.expected), BigInt(request.desired), caller);
        return { old: old.toString() };
      }
      case 'watch': {
        const id = request.deployment;
        if (!connection.watches.has(id) && !connection.closed) {
          const stop = this.service.watch(id, caller, (event) => {
            if (event.event === 'undeployed') {
              connection.watches.delete(id);
              connection.push({ v: PROTOCOL_VERSION, event: 'undeployed', deployment: id, reason: event.reason });
            } else {
              connection.push({ v: PROTOCOL_VERSION, event: 'replaced', deployment: id, info: wireInfo(event.info) });
            }
          });
          connection.watches.set(id, stop);
        }
        return { watching: id };
      }
      case 'hooks':
        return [...(await this.service.hooks()), ...(this.daemonBackends?.unprovidedHooks ?? [])].map(wireHookInfo);
      case 'status':
        return {
          version: PROTOCOL_VERSION,
          pid: process.pid,
          uptimeMs: Date.now() - this.#started,
          deployments: (await this.service.deployments(caller)).length,
          ...(this.daemonBackends !== undefined ? { backends: this.daemonBackends.packages.map((p) => ({ ...p, ...(p.backends !== undefined ? { backends: [...p.backends] } : {}) })) } : {}),
        };
      case 'disasm': {
        const target = request.target === undefined ? undefined : { ...request.target };
        const lines = await this.service.disasm(
          request.policy,
          request.hook as HookId,
          { ...(request.params !== undefined ? { params: paramsOf(request.params) } : {}), ...(target !== undefined ? { target } : {}) },
          caller,
          connection.signal,
        );
        return { lines: [...lines] };
      }
    }
  }
}

/**
 * What an audit entry says about a request line: its op, hook, target and deployment, read
 * leniently (a line that is no valid request is audited as `invalid`; its refusal says why).
 */
function auditedRequest(text: string): Pick<AuditEntry, 'op' | 'hook' | 'target' | 'deployment'> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { op: 'invalid' };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { op: 'invalid' };
  const record = raw as Record<string, unknown>;
  const op = typeof record['op'] === 'string' && (REQUEST_OPS as readonly string[]).includes(record['op']) ? record['op'] : 'invalid';
  const target = typeof record['target'] === 'object' && record['target'] !== null && !Array.isArray(record['target']) ? (record['target'] as Record<string, unknown>) : undefined;
  // Scalar fields only, strings cut short: a log line stays one short line whatever a tenant sends.
  const fields = Object.entries(target ?? {})
    .filter(([key, value]) => key !== 'extra' && (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string'))
    .slice(0, 16)
    .map(([key, value]) => [key.slice(0, 32), typeof value === 'string' ? value.slice(0, 64) : value]);
  return {
    op,
    ...(typeof record['hook'] === 'string' ? { hook: record['hook'].slice(0, 64) } : {}),
    ...(target !== undefined ? { target: Object.fromEntries(fields) as Record<string, unknown> } : {}),
    ...(typeof record['deployment'] === 'string' ? { deployment: record['deployment'].slice(0, 64) } : {}),
  };
}

function paramsOf(params: Readonly<Record<string, number | string>>): Record<string, number | bigint> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, typeof v === 'string' ? BigInt(v) : v]));
}

/** Targets on the wire are JSON: a non-JSON extra (embedded sockets) is left out. */
function wireInfo(info: RuntimeDeploymentInfo): WireDeploymentInfo {
  const { extra, ...target } = info.target;
  const { sharedMaps, ...rest } = info;
  return {
    ...rest,
    maps: [...info.maps],
    mapSpecs: { ...info.mapSpecs },
    ...(sharedMaps === undefined ? {} : { sharedMaps: [...sharedMaps] }),
    target: extra === undefined ? target : { ...target, extra: jsonSafe(extra) },
  };
}

function jsonSafe(extra: Readonly<Record<string, unknown>>): Record<string, never> {
  try {
    return JSON.parse(JSON.stringify(extra)) as Record<string, never>;
  } catch {
    return {};
  }
}

function refusal(id: RequestId, code: string, message: string): Response {
  return { v: PROTOCOL_VERSION, id, ok: false, error: { code, message: oneLine(message) } };
}

function line(response: Response): string {
  return `${JSON.stringify(response)}\n`;
}

/** The response's line; a result JSON cannot carry (a bug, not a request's fault) still answers its request. */
function encoded(response: Response): string {
  try {
    return line(response);
  } catch (error) {
    return line(refusal(response.id, 'INTERNAL', `the server could not encode its answer: ${messageOf(error)}`));
  }
}

/**
 * Connections the kernel queues before the server accepts them (capped by net.core.somaxconn).
 * Node's default, 511, fills within one burst of a flooding tenant, and then everyone's connect
 * fails with EAGAIN until the server catches up; a deeper queue absorbs the burst while the
 * server accepts and refuses the flood.
 */
const LISTEN_BACKLOG = 4096;

/** How long a refused or expired connection's last line may wait for the client to read it. */
const HANG_UP_GRACE_MS = 1000;

/**
 * Sends a last line and closes the connection once it reached the kernel, or after
 * HANG_UP_GRACE_MS when the client does not read: either way the descriptor is freed, even if
 * the client never closes its end.
 */
function hangUp(socket: Socket, text: string): void {
  const grace = setTimeout(() => socket.destroy(), HANG_UP_GRACE_MS);
  socket.once('close', () => clearTimeout(grace));
  socket.end(text, () => socket.destroy());
}

/** A refusal is one line of text: never a stack trace. */
function oneLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

