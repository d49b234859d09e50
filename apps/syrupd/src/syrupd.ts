import 'reflect-metadata';
import { register as registerEbpfBackend } from '@syrup/backend-ebpf';
import { ensureBpffs } from '@syrup/backend-ebpf/pin';
import { registerHookRegistry } from '@syrup/core';
import { DEFAULT_SOCKET_PATH, PeerCredentials, ProtocolServer, ProtocolServerOptions, RuntimeLimits, RuntimePersistenceOptions, RuntimeService } from '@syrup/runtime';
import { pino, type Logger } from 'pino';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { SoPeerCredCredentials } from './so-peercred-credentials.js';

/** Where deployments' pins live: root-owned directories on bpffs, one per deployment. */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/syrup';
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
  readonly logger?: Logger;
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
 * The composition root: the hook registry, the eBPF backend, the runtime service, SO_PEERCRED
 * identities and the protocol server on the Unix socket.
 */
export async function startSyrupd(options: SyrupdOptions = {}): Promise<Syrupd> {
  const logger = options.logger ?? pino({ name: 'syrupd' });
  const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
  const pinRoot = ensureBpffs(options.pinRoot ?? DEFAULT_PIN_ROOT);
  const stateFile = options.stateFile ?? DEFAULT_STATE_FILE;
  const stateRoot = options.stateDir ?? DEFAULT_STATE_DIR;
  const container = rootContainer.createChildContainer();
  registerHookRegistry(container);
  registerEbpfBackend(container);
  container.registerSingleton(RuntimeService);
  container.register(PeerCredentials, { useValue: new SoPeerCredCredentials() });
  container.register(ProtocolServerOptions, { useValue: { socketPath } });
  if (options.limits !== undefined) container.register(RuntimeLimits, { useValue: options.limits });
  container.register(RuntimePersistenceOptions, {
    useValue: { pinRoot, stateRoot, stateFile, log: (level: 'info' | 'warn' | 'error', message: string, fields: Readonly<Record<string, unknown>>) => logger[level](fields, message) },
  });
  const service = container.resolve(RuntimeService);
  // Before serving: clients see the recovered deployments (same ids) from their first request on.
  const recovery = await service.recover();
  logger.info({ restored: recovery.restored.length, dropped: recovery.dropped.length, stateFile }, 'recovery done');
  const server = container.resolve(ProtocolServer);
  await server.listen();
  const hooks = await service.hooks();
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
        await service.close();
        logger.info({ kept: count }, 'syrupd stopped; deployments stay with their targets');
      })()),
  };
}
