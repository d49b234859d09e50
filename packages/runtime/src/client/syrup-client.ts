import type { EventEmitter } from 'eventemitter3';
import type { DeployTarget, HookId, PolicySource } from '@syrup/core';
import type { ServiceStage, WireDeploymentInfo, WireHookInfo, WireStatus } from '../protocol/protocol-schema.js';

/** A deployment's map as a client sees it: u32 keys, exact bigint values. */
export interface ClientMap {
  get(key: number): Promise<bigint | bigint[]>;
  set(key: number, value: bigint | readonly bigint[]): Promise<void>;
  dump(): Promise<[number, bigint | bigint[]][]>;
}

/** A policy as a client names it: a path, a package specifier, or its text. */
export type PolicyRef = string | PolicySource;

/**
 * A deploy or replace as it happens: `read` (the client reads the policy), `send` (it goes to
 * the service), then the service's own stages (`compile`, then `attach` or `swap`).
 */
export type ClientStage = 'read' | 'send' | ServiceStage;

/** Deploy options as a client passes them: params may also be bigints. */
export interface ClientDeployOptions extends DeployTarget {
  readonly hook: HookId;
  readonly params?: Readonly<Record<string, number | bigint>>;
  /** Hears each stage as it starts (for a progress display); not part of the target. */
  readonly onProgress?: (stage: ClientStage) => void;
}

/** What `disasm` compiles for: the hook, params, and the target fields the hook's code depends on (an XDP port). */
export interface ClientDisasmOptions {
  readonly hook: HookId;
  readonly params?: Readonly<Record<string, number | bigint>>;
  readonly target?: DeployTarget;
}

export interface ClientDeploymentEvents {
  replaced: (info: WireDeploymentInfo) => void;
  undeployed: () => void;
}

/** A deployment seen from `embedded()` or `connect()`: its maps and operations go through the service. */
export interface ClientDeployment extends AsyncDisposable, Pick<EventEmitter<ClientDeploymentEvents>, 'on' | 'once' | 'off'> {
  readonly id: string;
  readonly hook: HookId;
  readonly target: DeployTarget;
  /** The policy's name, as of the last deploy or replace. */
  readonly policy: string;
  readonly maps: Readonly<Record<string, ClientMap>>;
  info(): WireDeploymentInfo;
  replace(policy: PolicyRef, options?: { params?: Readonly<Record<string, number | bigint>>; onProgress?: (stage: ClientStage) => void }): Promise<void>;
  undeploy(): Promise<void>;
}

/** What `embedded()` and `connect()` both return. */
export interface SyrupClient extends AsyncDisposable {
  deploy(policy: PolicyRef, options: ClientDeployOptions): Promise<ClientDeployment>;
  deployments(): Promise<WireDeploymentInfo[]>;
  /** A handle on a deployment made earlier (by this or another client of the same owner). */
  deployment(id: string): Promise<ClientDeployment>;
  hooks(): Promise<WireHookInfo[]>;
  status(): Promise<WireStatus>;
  /** The code the hook's backend generates for the policy, as text lines (eBPF: instructions with source positions); nothing is deployed. */
  disasm(policy: PolicyRef, options: ClientDisasmOptions): Promise<string[]>;
  close(): Promise<void>;
}
