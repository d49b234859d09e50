import type { EventEmitter } from 'eventemitter3';
import type { DeployTarget, HookId, PolicySource } from '@syrup/core';
import type { DataMapSpec } from '@syrup/maps';
import type { ServiceStage, WireDeploymentInfo, WireHookInfo, WireStatus } from '../protocol/protocol-schema.js';

/**
 * A deployment's map as a client sees it: u32 keys, exact bigint values (one per CPU for a
 * per-CPU map). `asDataMap` turns it into the `@syrup/maps` DataMap that companions such as
 * ScanTracker and TokenRefiller take.
 */
export interface ClientMap {
  /** The map's declared shape; undefined only from a server too old to send it. */
  readonly spec: DataMapSpec | undefined;
  get(key: number): Promise<bigint | bigint[]>;
  set(key: number, value: bigint | readonly bigint[]): Promise<void>;
  dump(): Promise<[number, bigint | bigint[]][]>;
  /** Removes the key and says whether it was present; array maps refuse. */
  delete(key: number): Promise<boolean>;
  /** Atomically adds `delta` and returns the old value; refused with MAP_NOT_ATOMIC where the map cannot (only mmapable kernel arrays can). */
  fetchAdd(key: number, delta: bigint): Promise<bigint>;
  /** Atomically stores `desired` if the value is `expected`; returns the old value either way. MAP_NOT_ATOMIC as fetchAdd. */
  compareExchange(key: number, expected: bigint, desired: bigint): Promise<bigint>;
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
  /** Maps to share by name with this owner's other deployments that share them (DeployOptions.shareMaps). */
  readonly shareMaps?: readonly string[];
  /** Hears each stage as it starts (for a progress display); not part of the target. */
  readonly onProgress?: (stage: ClientStage) => void;
}

/** What `disasm` compiles for: the hook, params, and the target fields the hook's code depends on (an XDP port). */
export interface ClientDisasmOptions {
  readonly hook: HookId;
  readonly params?: Readonly<Record<string, number | bigint>>;
  readonly target?: DeployTarget;
}

/**
 * A deployment's events as a client hears them, whoever caused them: `replaced` by this or
 * another client of the owner, `undeployed` once when it ends for any reason (an undeploy
 * from anywhere, or its target process exiting, which the service notices and ends it for).
 */
export interface ClientDeploymentEvents {
  replaced: (info: WireDeploymentInfo) => void;
  undeployed: (reason: ClientUndeployReason) => void;
}

/** Why a deployment ended: undeployed by a client, or its target process exited. */
export type ClientUndeployReason = 'undeployed' | 'target-exited';

/** A deployment event as a transport delivers it. */
export type ClientDeploymentEvent = { readonly event: 'replaced'; readonly info: WireDeploymentInfo } | { readonly event: 'undeployed'; readonly reason: ClientUndeployReason };

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
