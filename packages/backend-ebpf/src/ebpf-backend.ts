import { SyrupError, compilePolicy, type Artifact, type AttachRequest, type Attachment, type Backend, type CompileRequest, type HookProbe, type HookSpec } from '@syrup/core';
import { probeFeatures, type FeatureReport } from './features/probe-features.js';
import type { EbpfArtifact, NetworkHook } from './hooks/network-hook.js';

/**
 * The eBPF backend: the kernel's network hooks (socket selection, XDP, CPU redirect). It
 * compiles a policy module's text with core's front end, generates the hook's program, and
 * routes attach requests to the hook that made the artifact.
 */
export class EbpfBackend implements Backend {
  readonly name = 'ebpf';
  readonly hooks: readonly HookSpec[];
  readonly #byId: ReadonlyMap<string, NetworkHook>;
  readonly #probe: () => Promise<FeatureReport>;

  constructor(hooks: readonly NetworkHook[], probe: () => Promise<FeatureReport> = async () => probeFeatures()) {
    this.hooks = hooks.map((h) => h.spec);
    this.#byId = new Map(hooks.map((h) => [h.spec.id, h]));
    this.#probe = probe;
  }

  async probe(): Promise<readonly HookProbe[]> {
    const features = await this.#probe();
    return [...this.#byId.values()].map((hook) => hook.probe(features));
  }

  async compile(request: CompileRequest): Promise<EbpfArtifact> {
    const hook = this.#hook(request.hook.id);
    if (request.source === undefined) {
      throw new SyrupError('EBPF_NO_SOURCE', `the eBPF backend compiles policy '${request.policy.name}' from its module text, and none was given.`);
    }
    const { ir } = compilePolicy(request.source, { params: request.policy.params });
    const program = hook.compile(ir, { sourceText: request.source.text, ...(request.target?.port === undefined ? {} : { port: request.target.port }) });
    return { backend: 'ebpf', hook: hook.spec.id, policy: ir.manifest, ir, program };
  }

  async attach(request: AttachRequest): Promise<Attachment> {
    const artifact = request.artifact as Artifact & Partial<EbpfArtifact>;
    if (artifact.backend !== 'ebpf' || artifact.program === undefined) {
      throw new SyrupError('EBPF_FOREIGN_ARTIFACT', `the eBPF backend cannot attach an artifact compiled by backend '${artifact.backend}'.`);
    }
    return this.#hook(artifact.hook).attach(request as AttachRequest<EbpfArtifact>);
  }

  #hook(id: string): NetworkHook {
    const hook = this.#byId.get(id);
    if (hook === undefined) throw new SyrupError('EBPF_UNKNOWN_HOOK', `the eBPF backend does not provide hook '${id}'.`);
    return hook;
  }
}
