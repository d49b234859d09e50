import type { PolicySource } from '@syrup/core';
import type { WireDeploymentInfo, WireHookInfo, WireStatus } from '../protocol/protocol-schema.js';
import type { ClientDeployOptions } from './syrup-client.js';

type Params = Readonly<Record<string, number | bigint>>;

/** How a client reaches a runtime service: directly in-process, or over the wire protocol. */
export interface ClientTransport {
  deploy(policy: PolicySource, options: ClientDeployOptions): Promise<WireDeploymentInfo>;
  replace(id: string, policy: PolicySource, params?: Params): Promise<WireDeploymentInfo>;
  undeploy(id: string): Promise<void>;
  list(): Promise<WireDeploymentInfo[]>;
  mapGet(id: string, map: string, key: number): Promise<bigint | bigint[]>;
  mapSet(id: string, map: string, key: number, value: bigint | readonly bigint[]): Promise<void>;
  mapDump(id: string, map: string): Promise<[number, bigint | bigint[]][]>;
  hooks(): Promise<WireHookInfo[]>;
  status(): Promise<WireStatus>;
  close(): Promise<void>;
}
