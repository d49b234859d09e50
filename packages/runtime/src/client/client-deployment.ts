import { EventEmitter } from 'eventemitter3';
import type { DeployTarget, HookId } from '@syrup/core';
import type { WireDeploymentInfo } from '../protocol/protocol-schema.js';
import type { ClientTransport } from './client-transport.js';
import { readPolicy } from './read-policy.js';
import type { ClientDeploymentEvents, ClientMap, ClientStage, PolicyRef } from './syrup-client.js';

/** A deployment handle over a transport; the service stays the single source of truth. */
export class ClientDeploymentHandle extends EventEmitter<ClientDeploymentEvents> {
  #info: WireDeploymentInfo;
  #maps: Record<string, ClientMap>;

  constructor(
    private readonly transport: ClientTransport,
    info: WireDeploymentInfo,
    readonly target: DeployTarget,
    private readonly cwd: string,
  ) {
    super();
    this.#info = info;
    this.#maps = this.#mapsOf(info);
  }

  get id(): string {
    return this.#info.id;
  }

  get hook(): HookId {
    return this.#info.hook as HookId;
  }

  get policy(): string {
    return this.#info.policy;
  }

  get maps(): Readonly<Record<string, ClientMap>> {
    return this.#maps;
  }

  info(): WireDeploymentInfo {
    return this.#info;
  }

  async replace(policy: PolicyRef, options: { params?: Readonly<Record<string, number | bigint>>; onProgress?: (stage: ClientStage) => void } = {}): Promise<void> {
    options.onProgress?.('read');
    const source = await readPolicy(policy, this.cwd);
    options.onProgress?.('send');
    this.#info = await this.transport.replace(this.id, source, options.params, options.onProgress);
    this.#maps = this.#mapsOf(this.#info);
    this.emit('replaced', this.#info);
  }

  async undeploy(): Promise<void> {
    await this.transport.undeploy(this.id);
    this.emit('undeployed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.undeploy();
  }

  #mapsOf(info: WireDeploymentInfo): Record<string, ClientMap> {
    const maps: Record<string, ClientMap> = {};
    for (const name of info.maps) {
      maps[name] = {
        get: (key) => this.transport.mapGet(this.id, name, key),
        set: (key, value) => this.transport.mapSet(this.id, name, key, value),
        dump: () => this.transport.mapDump(this.id, name),
      };
    }
    return maps;
  }
}
