import { RuntimeError } from '../errors/runtime-error.js';
import type { WireDeploymentInfo, WireHookInfo, WireStatus } from '../protocol/protocol-schema.js';
import { ClientDeploymentHandle } from './client-deployment.js';
import type { ClientTransport } from './client-transport.js';
import { readPolicy } from './read-policy.js';
import type { ClientDeployOptions, ClientDeployment, ClientDisasmOptions, PolicyRef, SyrupClient } from './syrup-client.js';

/** The client side shared by `embedded()` and `connect()`: reads policies, wraps deployments. */
export class BaseClient implements SyrupClient {
  constructor(
    private readonly transport: ClientTransport,
    private readonly cwd: string,
  ) {}

  async deploy(policy: PolicyRef, options: ClientDeployOptions): Promise<ClientDeployment> {
    const { hook: _hook, params: _params, shareMaps: _shareMaps, onProgress, ...target } = options;
    onProgress?.('read');
    const source = await readPolicy(policy, this.cwd);
    onProgress?.('send');
    const info = await this.transport.deploy(source, options, onProgress);
    return new ClientDeploymentHandle(this.transport, info, target, this.cwd);
  }

  deployments(): Promise<WireDeploymentInfo[]> {
    return this.transport.list();
  }

  async deployment(id: string): Promise<ClientDeployment> {
    const info = (await this.transport.list()).find((d) => d.id === id);
    if (info === undefined) {
      throw new RuntimeError('DEPLOYMENT_NOT_FOUND', `no deployment has id '${id}' (among those this caller may see).`);
    }
    return new ClientDeploymentHandle(this.transport, info, info.target, this.cwd);
  }

  hooks(): Promise<WireHookInfo[]> {
    return this.transport.hooks();
  }

  status(): Promise<WireStatus> {
    return this.transport.status();
  }

  async disasm(policy: PolicyRef, options: ClientDisasmOptions): Promise<string[]> {
    return this.transport.disasm(await readPolicy(policy, this.cwd), options);
  }

  close(): Promise<void> {
    return this.transport.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
