import 'reflect-metadata';
import { fileURLToPath } from 'node:url';
import { HookRegistry, registerHookRegistry } from '@syrup/core';
import {
  DaemonBackends,
  DEFAULT_SOCKET_PATH,
  PeerCredentials,
  ProtocolServer,
  ProtocolServerOptions,
  RequestAudit,
  RuntimeLimits,
  RuntimePersistenceOptions,
  RuntimeService,
  loadBackends,
  type ConnectionLimits,
} from '@syrup/runtime';
import { pino, type Logger } from 'pino';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { accountBackends } from './backends/account-backends.js';
import { PROJECT_BACKENDS } from './backends/project-backends.js';
import { preparePinRoots } from './backends/prepare-pin-roots.js';
import { BoundedAuditLog, type AuditLogLimits } from './bounded-audit-log.js';
import { SoPeerCredCredentials } from './so-peercred-credentials.js';

/** Where deployments' pins live: root-owned directories on bpffs, one per deployment (backends that pin prepare it). */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/syrup';
/** syrupd's own package directory (this file is in src/ or dist/): backend names resolve from here after the working directory. */
const INSTALL_DIR = fileURLToPath(new URL('..', import.meta.url));
/** The daemon's record of its deployments, the only thing recovery trusts (pins are checked against it). */
export const DEFAULT_STATE_FILE = '/var/lib/syrup/state.json';
/** Where each deployment's state directory is made (`<dir>/<id>/`, root's, 0755): files any backend keeps, on an ordinary file system. */
export const DEFAULT_STATE_DIR = '/var/lib/syrup/deployments';

export interface SyrupdOptions {
  readonly socketPath?: string;
  readonly pinRoot?: string;
  readonly stateFile?: string;
  /** The root of the deployments' state directories. */
  readonly stateDir?: string;
  /** Per-tenant limits (deployments, map memory, request size, compile time); the runtime's defaults otherwise. */
  readonly limits?: RuntimeLimits;
  /** Bounds on each client connection (per-uid cap, idle timeout, pipelined requests, unread answers); the runtime's defaults otherwise. */
  readonly connectionLimits?: Partial<ConnectionLimits>;
  /**
   * Backend packages to load, by name or directory path, in order (`--backend`); the project's
   * own installed ones (`@syrup/backend-ebpf`, `-ghost`, `-nfp`) when empty or absent.
   */
  readonly backends?: readonly string[];
  /**
   * The CPUs thread-hook enclaves may claim (`--thread-cpus`); absent: the thread backend's
   * default, every online CPU but CPU 0, which stays for the daemon and its agents.
   */
  readonly threadCpus?: readonly number[];
  /** Where names and relative paths of `backends` resolve first; the process's working directory by default. */
  readonly cwd?: string;
  readonly logger?: Logger;
  /** How many audit lines a window may hold before requests are only counted (DEFAULT_AUDIT_LOG_LIMITS otherwise). */
  readonly auditLimits?: AuditLogLimits;
}

/** A running daemon. */
export interface Syrupd {
  readonly socketPath: string;
  readonly container: DependencyContainer;
  readonly service: RuntimeService;
  /**
   * Stops serving and keeps every deployment: they belong to their targets, stay attached and
   * pinned, and the next start recovers them. Deployments that cannot persist are undeployed.
   */
  close(): Promise<void>;
}

/**
 * The composition root: the hook registry, the backend packages (each by its
 * `register(container)`), the runtime service, SO_PEERCRED identities and the protocol server
 * on the Unix socket. A backend package that does not load, or that the registry refuses, is
 * reported (log, `status`, `hooks`) and the daemon serves with the others.
 */
export async function startSyrupd(options: SyrupdOptions = {}): Promise<Syrupd> {
  const logger = options.logger ?? pino({ name: 'syrupd' });
  const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
  const pinRoot = options.pinRoot ?? DEFAULT_PIN_ROOT;
  const stateFile = options.stateFile ?? DEFAULT_STATE_FILE;
  const stateRoot = options.stateDir ?? DEFAULT_STATE_DIR;
  const container = rootContainer.createChildContainer();
  registerHookRegistry(container);
  // Read by the thread backend when it loads; named by Symbol.for so the daemon need not import it.
  if (options.threadCpus !== undefined) container.register(Symbol.for('@syrup/backend-ghost.GhostBackendOptions'), { useValue: { allowedCpus: options.threadCpus } });
  const specs = options.backends !== undefined && options.backends.length > 0 ? options.backends : PROJECT_BACKENDS;
  const outcomes = await loadBackends(specs, container, { cwd: options.cwd ?? process.cwd(), installDir: INSTALL_DIR });
  const registry = container.resolve<HookRegistry>(HookRegistry);
  const account = await accountBackends(outcomes, registry);
  // A default package that is absent or a placeholder is expected; anything asked for that did not load, or failed, is a warning.
  const asked = (options.backends ?? []).length > 0;
  for (const p of account.packages) {
    if (p.state === 'loaded') logger.info({ package: p.package, path: p.path, backends: p.backends }, 'backend loaded');
    else logger[asked || p.state === 'failed' || p.state === 'refused' ? 'warn' : 'info']({ package: p.package, state: p.state, reason: p.reason }, 'backend not loaded');
  }
  container.register(DaemonBackends, { useValue: account });
  // Pins are the backends' business (the eBPF backend mounts bpffs): each backend that can run here prepares the root before recovery reads it.
  await preparePinRoots(registry, pinRoot);
  const hooks = await registry.hooks();
  container.registerSingleton(RuntimeService);
  container.register(PeerCredentials, { useValue: new SoPeerCredCredentials() });
  // Every answered request and refused connection: one line each in this log, bounded under floods.
  const audit = new BoundedAuditLog(logger, options.auditLimits);
  container.register(RequestAudit, { useValue: audit });
  container.register(ProtocolServerOptions, { useValue: { socketPath, ...(options.connectionLimits !== undefined ? { connectionLimits: options.connectionLimits } : {}) } });
  if (options.limits !== undefined) container.register(RuntimeLimits, { useValue: options.limits });
  container.register(RuntimePersistenceOptions, {
    useValue: { pinRoot, stateRoot, stateFile, log: (level: 'info' | 'warn' | 'error', message: string, fields: Readonly<Record<string, unknown>>) => logger[level](fields, message) },
  });
  const service = container.resolve(RuntimeService);
  // Before serving: clients see the recovered deployments (same ids) from their first request on.
  const recovery = await service.recover();
  logger.info({ restored: recovery.restored.length, dropped: recovery.dropped.length, unfinished: recovery.intents?.length ?? 0, stateFile }, 'recovery done');
  const server = container.resolve(ProtocolServer);
  await server.listen();
  logger.info(
    { socketPath, pinRoot, stateFile, hooks: hooks.map((h) => (h.available ? h.hook.id : `${h.hook.id} (unavailable: ${h.reason ?? '?'})`)) },
    'syrupd listening',
  );
  let closing: Promise<void> | undefined;
  return {
    socketPath,
    container,
    service,
    close: () =>
      (closing ??= (async () => {
        const count = (await service.deployments()).length;
        await server.close();
        audit.close();
        await service.close();
        logger.info({ kept: count }, 'syrupd stopped; deployments stay with their targets');
      })()),
  };
}
