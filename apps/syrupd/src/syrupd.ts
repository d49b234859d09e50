import 'reflect-metadata';
import { register as registerEbpfBackend } from '@syrup/backend-ebpf';
import { registerHookRegistry } from '@syrup/core';
import { DEFAULT_SOCKET_PATH, PeerCredentials, ProtocolServer, ProtocolServerOptions, RuntimeService } from '@syrup/runtime';
import { pino, type Logger } from 'pino';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { SoPeerCredCredentials } from './so-peercred-credentials.js';

/** Where pins will live once persistence lands (accepted and logged now, not used yet). */
export const DEFAULT_PIN_ROOT = '/sys/fs/bpf/syrup';

export interface SyrupdOptions {
  readonly socketPath?: string;
  readonly pinRoot?: string;
  readonly logger?: Logger;
}

/** A running daemon. */
export interface Syrupd {
  readonly socketPath: string;
  readonly container: DependencyContainer;
  readonly service: RuntimeService;
  /** Stops serving and undeploys every deployment (there is no persistence yet). */
  close(): Promise<void>;
}

/**
 * The composition root: the hook registry, the eBPF backend, the runtime service, SO_PEERCRED
 * identities and the protocol server on the Unix socket.
 */
export async function startSyrupd(options: SyrupdOptions = {}): Promise<Syrupd> {
  const logger = options.logger ?? pino({ name: 'syrupd' });
  const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH;
  const container = rootContainer.createChildContainer();
  registerHookRegistry(container);
  registerEbpfBackend(container);
  container.registerSingleton(RuntimeService);
  container.register(PeerCredentials, { useValue: new SoPeerCredCredentials() });
  container.register(ProtocolServerOptions, { useValue: { socketPath } });
  const service = container.resolve(RuntimeService);
  const server = container.resolve(ProtocolServer);
  await server.listen();
  const hooks = await service.hooks();
  logger.info(
    { socketPath, pinRoot: options.pinRoot ?? DEFAULT_PIN_ROOT, hooks: hooks.map((h) => (h.available ? h.hook.id : `${h.hook.id} (unavailable: ${h.reason ?? '?'})`)) },
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
        logger.info({ undeployed: count }, 'syrupd stopped');
      })()),
  };
}
