import type { PolicySource } from '@syrup/core';
import type { ServiceStage, WireDeploymentInfo, WireHookInfo, WireStatus } from '../protocol/protocol-schema.js';
import type { ClientDeployOptions, ClientDeploymentEvent, ClientDisasmOptions } from './syrup-client.js';

type Params = Readonly<Record<string, number | bigint>>;

/** How a client reaches a runtime service: directly in-process, or over the wire protocol. */
export interface ClientTransport {
  /** `onStage` hears the service's stages, where the transport can report them. */
  deploy(policy: PolicySource, options: ClientDeployOptions, onStage?: (stage: ServiceStage) => void): Promise<WireDeploymentInfo>;
  replace(id: string, policy: PolicySource, params?: Params, onStage?: (stage: ServiceStage) => void): Promise<WireDeploymentInfo>;
  undeploy(id: string): Promise<void>;
  list(): Promise<WireDeploymentInfo[]>;
  mapGet(id: string, map: string, key: number): Promise<bigint | bigint[]>;
  mapSet(id: string, map: string, key: number, value: bigint | readonly bigint[]): Promise<void>;
  mapDump(id: string, map: string): Promise<[number, bigint | bigint[]][]>;
  mapDelete(id: string, map: string, key: number): Promise<boolean>;
  mapFetchAdd(id: string, map: string, key: number, delta: bigint): Promise<bigint>;
  mapCompareExchange(id: string, map: string, key: number, expected: bigint, desired: bigint): Promise<bigint>;
  /**
   * Delivers deployment `id`'s events to `listener` until it ends; resolves once the service
   * watches it, and rejects (DEPLOYMENT_NOT_FOUND) when it is already gone. The returned
   * function stops this listener.
   */
  watch(id: string, listener: (event: ClientDeploymentEvent) => void): Promise<() => void>;
  hooks(): Promise<WireHookInfo[]>;
  status(): Promise<WireStatus>;
  disasm(policy: PolicySource, options: ClientDisasmOptions): Promise<string[]>;
  close(): Promise<void>;
}
