import 'reflect-metadata';
import { HookRegistry, registerHookRegistry, type BackendModule, type PolicySource } from '@syrup/core';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { PROTOCOL_VERSION, type ServiceStage, type WireDeploymentInfo, type WireHookInfo, type WireStatus } from '../protocol/protocol-schema.js';
import { wireHookInfo } from '../protocol/wire-hook-info.js';
import { EMBEDDED_CALLER, RuntimeService, type RuntimeDeploymentInfo } from '../service/runtime-service.js';
import { BaseClient } from './base-client.js';
import type { ClientTransport } from './client-transport.js';
import type { ClientDeployOptions, ClientDeploymentEvent, ClientDisasmOptions, SyrupClient } from './syrup-client.js';

export interface EmbeddedOptions {
  /** Backend modules to register (e.g. `ebpfBackendModule`); the runtime never imports one itself. */
  readonly backends?: readonly BackendModule[];
  /** A container to build on; a child of it is used. Defaults to tsyringe's root container. */
  readonly container?: DependencyContainer;
  /** Where relative policy paths and package specifiers resolve from; defaults to process.cwd(). */
  readonly cwd?: string;
}

/** An in-process runtime: the client plus the container it runs in (for tests and composition). */
export interface EmbeddedSyrup extends SyrupClient {
  readonly container: DependencyContainer;
  readonly service: RuntimeService;
}

/**
 * Runs the runtime service inside this (privileged) process: a single-tenant system where the
 * caller is root. `close()` undeploys everything it deployed.
 */
export async function embedded(options: EmbeddedOptions = {}): Promise<EmbeddedSyrup> {
  const container = (options.container ?? rootContainer).createChildContainer();
  registerHookRegistry(container);
  for (const backend of options.backends ?? []) backend.register(container);
  // The embedding program chose these modules: one whose hook or name another already has is its mistake, refused at once.
  const refused = container.resolve<HookRegistry>(HookRegistry).backends().find((r) => r.refused !== undefined)?.refused;
  if (refused !== undefined) throw refused;
  container.registerSingleton(RuntimeService);
  const service = container.resolve(RuntimeService);
  const client = new BaseClient(new EmbeddedTransport(service), options.cwd ?? process.cwd()) as BaseClient & { container: DependencyContainer; service: RuntimeService };
  Object.assign(client, { container, service });
  return client;
}

/** Calls the service directly; the caller is root, so ownership never refuses. */
class EmbeddedTransport implements ClientTransport {
  readonly #started = Date.now();

  constructor(private readonly service: RuntimeService) {}

  async deploy(policy: PolicySource, options: ClientDeployOptions, onStage?: (stage: ServiceStage) => void): Promise<WireDeploymentInfo> {
    // The progress listener is the client's, not part of the target the service records.
    const { onProgress: _onProgress, ...deployOptions } = options;
    const deployment = await this.service.deploy(policy, deployOptions, EMBEDDED_CALLER, onStage);
    return wire(this.service.info(deployment.id));
  }

  async replace(id: string, policy: PolicySource, params?: Readonly<Record<string, number | bigint>>, onStage?: (stage: ServiceStage) => void): Promise<WireDeploymentInfo> {
    return wire(await this.service.replace(id, policy, EMBEDDED_CALLER, params, onStage));
  }

  async disasm(policy: PolicySource, options: ClientDisasmOptions): Promise<string[]> {
    const { hook, params, target } = options;
    return [...(await this.service.disasm(policy, hook, { ...(params !== undefined ? { params } : {}), ...(target !== undefined ? { target } : {}) }))];
  }

  undeploy(id: string): Promise<void> {
    return this.service.undeploy(id);
  }

  async list(): Promise<WireDeploymentInfo[]> {
    return (await this.service.deployments()).map(wire);
  }

  async mapGet(id: string, map: string, key: number): Promise<bigint | bigint[]> {
    const value = await this.service.mapGet(id, map, key);
    return typeof value === 'bigint' ? value : [...value];
  }

  mapSet(id: string, map: string, key: number, value: bigint | readonly bigint[]): Promise<void> {
    return this.service.mapSet(id, map, key, value);
  }

  async mapDump(id: string, map: string): Promise<[number, bigint | bigint[]][]> {
    return (await this.service.mapDump(id, map)).map(([k, v]) => [k, typeof v === 'bigint' ? v : [...v]]);
  }

  mapDelete(id: string, map: string, key: number): Promise<boolean> {
    return this.service.mapDelete(id, map, key);
  }

  mapFetchAdd(id: string, map: string, key: number, delta: bigint): Promise<bigint> {
    return this.service.mapFetchAdd(id, map, key, delta);
  }

  mapCompareExchange(id: string, map: string, key: number, expected: bigint, desired: bigint): Promise<bigint> {
    return this.service.mapCompareExchange(id, map, key, expected, desired);
  }

  async watch(id: string, listener: (event: ClientDeploymentEvent) => void): Promise<() => void> {
    return this.service.watch(id, EMBEDDED_CALLER, (event) => listener(event.event === 'replaced' ? { event: 'replaced', info: wire(event.info) } : event));
  }

  async hooks(): Promise<WireHookInfo[]> {
    return (await this.service.hooks()).map(wireHookInfo);
  }

  async status(): Promise<WireStatus> {
    return { version: PROTOCOL_VERSION, pid: process.pid, uptimeMs: Date.now() - this.#started, deployments: (await this.service.deployments()).length };
  }

  close(): Promise<void> {
    return this.service.close();
  }
}

/** In-process the target keeps its live extras (sockets), so it is passed through as it is. */
function wire(info: RuntimeDeploymentInfo): WireDeploymentInfo {
  const { sharedMaps, ...rest } = info;
  return {
    ...rest,
    maps: [...info.maps],
    mapSpecs: { ...info.mapSpecs },
    ...(sharedMaps === undefined ? {} : { sharedMaps: [...sharedMaps] }),
    target: info.target as WireDeploymentInfo['target'],
  };
}
