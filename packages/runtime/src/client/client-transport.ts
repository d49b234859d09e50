import type { PolicySource } from '@syrup/core';
import type { ServiceStage, WireDeploymentInfo, WireHookInfo, WireStatus } from '../protocol/protocol-schema.js';
import type { ClientDeployOptions, ClientDisasmOptions } from './syrup-client.js';

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
  hooks(): Promise<WireHookInfo[]>;
  status(): Promise<WireStatus>;
  disasm(policy: PolicySource, options: ClientDisasmOptions): Promise<string[]>;
  close(): Promise<void>;
}
