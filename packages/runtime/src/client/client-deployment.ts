import { EventEmitter } from 'eventemitter3';
import type { DeployTarget, HookId } from '@syrup/core';
import type { WireDeploymentInfo } from '../protocol/protocol-schema.js';
import type { ClientTransport } from './client-transport.js';
import { readPolicy } from './read-policy.js';
import type { ClientDeploymentEvent, ClientDeploymentEvents, ClientMap, ClientStage, ClientUndeployReason, PolicyRef } from './syrup-client.js';

/**
 * A deployment handle over a transport; the service stays the single source of truth. It
 * watches the deployment from the start (`ClientTransport.watch`), so it hears replaces made
 * by other clients of the owner and the deployment's end for any reason, and emits
 * `undeployed` exactly once.
 */
export class ClientDeploymentHandle extends EventEmitter<ClientDeploymentEvents> {
  #info: WireDeploymentInfo;
  #maps: Record<string, ClientMap>;
  #ended = false;
  /** Replaces this handle has in flight: their own result is emitted, not the pushed event. */
  #replacing = 0;
  #unwatch: (() => void) | undefined;

  constructor(
    private readonly transport: ClientTransport,
    info: WireDeploymentInfo,
    readonly target: DeployTarget,
    private readonly cwd: string,
  ) {
    super();
    this.#info = info;
    this.#maps = this.#mapsOf(info);
    this.transport
      .watch(info.id, (event) => this.#heard(event))
      .then(
        (stop) => {
          if (this.#ended) stop();
          else this.#unwatch = stop;
        },
        (error: unknown) => {
          // Gone before the watch began (its target exited right after the deploy): that is its end.
          if ((error as { code?: unknown }).code === 'DEPLOYMENT_NOT_FOUND') this.#end('undeployed');
          // Any other failure (the connection closed) leaves the handle without events: nothing to report.
        },
      );
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

  /** Whether the deployment has ended (`undeployed` was emitted). */
  get ended(): boolean {
    return this.#ended;
  }

  info(): WireDeploymentInfo {
    return this.#info;
  }

  async replace(policy: PolicyRef, options: { params?: Readonly<Record<string, number | bigint>>; onProgress?: (stage: ClientStage) => void } = {}): Promise<void> {
    options.onProgress?.('read');
    const source = await readPolicy(policy, this.cwd);
    options.onProgress?.('send');
    this.#replacing++;
    try {
      this.#info = await this.transport.replace(this.id, source, options.params, options.onProgress);
    } finally {
      this.#replacing--;
    }
    this.#maps = this.#mapsOf(this.#info);
    this.emit('replaced', this.#info);
  }

  async undeploy(): Promise<void> {
    await this.transport.undeploy(this.id);
    this.#end('undeployed');
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.undeploy();
  }

  #heard(event: ClientDeploymentEvent): void {
    if (this.#ended) return;
    if (event.event === 'undeployed') {
      this.#end(event.reason);
      return;
    }
    // This handle's own replace emits with its result; a pushed replace is another client's.
    if (this.#replacing > 0) return;
    this.#info = event.info;
    this.#maps = this.#mapsOf(event.info);
    this.emit('replaced', event.info);
  }

  #end(reason: ClientUndeployReason): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.emit('undeployed', reason);
  }

  #mapsOf(info: WireDeploymentInfo): Record<string, ClientMap> {
    const maps: Record<string, ClientMap> = {};
    for (const name of info.maps) {
      maps[name] = {
        spec: info.mapSpecs?.[name],
        get: (key) => this.transport.mapGet(this.id, name, key),
        set: (key, value) => this.transport.mapSet(this.id, name, key, value),
        dump: () => this.transport.mapDump(this.id, name),
        delete: (key) => this.transport.mapDelete(this.id, name, key),
        fetchAdd: (key, delta) => this.transport.mapFetchAdd(this.id, name, key, delta),
        compareExchange: (key, expected, desired) => this.transport.mapCompareExchange(this.id, name, key, expected, desired),
      };
    }
    return maps;
  }
}
