import {
  OwnershipError,
  RestoreError,
  type AbandonRequest,
  type Artifact,
  type AttachRequest,
  type Attachment,
  type Authorization,
  type AuthorizeRequest,
  type Backend,
  type CompileRequest,
  type HookProbe,
  type HookSpec,
  type RestoreRequest,
  type TargetClaim,
  type TargetRequest,
} from '@syrup/core';
import { EbpfBackendError } from './ebpf-backend-error.js';
import { loadProgramSpecAsync } from './loader/loaded-program.js';
import { programListing } from './codegen/program-listing.js';
import { CodegenPool, type ProgramGenerator } from './codegen/worker/codegen-pool.js';
import { probeFeatures, type FeatureReport } from './features/probe-features.js';
import { ensureBpffs } from './pin/bpffs.js';
import type { EbpfArtifact, NetworkHook } from './hooks/network-hook.js';

/**
 * The eBPF backend: the kernel's network hooks (socket selection, XDP, CPU redirect). It
 * generates the hook's program from the policy IR in the compile request (it never parses
 * policy text: the runtime ran the front end once) and routes attach requests to the hook
 * that made the artifact. Code generation runs on `generator` (by default a CodegenPool: worker
 * threads) for hooks that describe their program by target id (`NetworkHook.codegen`),
 * so a large policy's generation never holds the event loop; close() stops those workers.
 */
export class EbpfBackend implements Backend, AsyncDisposable {
  readonly name = 'ebpf';
  readonly hooks: readonly HookSpec[];
  readonly #byId: ReadonlyMap<string, NetworkHook>;
  readonly #probe: () => Promise<FeatureReport>;
  readonly #generator: ProgramGenerator & { close?(): Promise<void> };

  constructor(
    hooks: readonly NetworkHook[],
    probe: () => Promise<FeatureReport> = async () => probeFeatures(),
    generator: ProgramGenerator & { close?(): Promise<void> } = new CodegenPool(),
  ) {
    this.hooks = hooks.map((h) => h.spec);
    this.#byId = new Map(hooks.map((h) => [h.spec.id, h]));
    this.#probe = probe;
    this.#generator = generator;
  }

  async probe(): Promise<readonly HookProbe[]> {
    const features = await this.#probe();
    return [...this.#byId.values()].map((hook) => hook.probe(features));
  }

  /** The hook's claims on the target (a routed port, an AF_XDP queue, a process). */
  claims(request: TargetRequest): readonly TargetClaim[] {
    return this.#hook(request.hook.id).claims?.(request) ?? [];
  }

  /** The hook's proof that the caller owns the target; the refusals are the hooks' (OwnershipError). */
  async authorize(request: AuthorizeRequest): Promise<Authorization> {
    const hook = this.#hook(request.hook.id);
    if (hook.authorize === undefined) {
      throw new OwnershipError('TARGET_UNKNOWN', `the runtime cannot tell who owns targets of hook '${hook.spec.id}', so only root may deploy there.`);
    }
    return hook.authorize(request);
  }

  /** Generates the hook's program from the IR the runtime compiled once; the source text only adds line info. */
  async compile(request: CompileRequest): Promise<EbpfArtifact> {
    const hook = this.#hook(request.hook.id);
    const { ir } = request;
    const options = {
      ...(request.source === undefined ? {} : { sourceText: request.source.text }),
      ...(request.target?.port === undefined ? {} : { port: request.target.port }),
    };
    const program = hook.codegen === undefined ? hook.compile(ir, options) : await this.#generator.generate(ir, hook.codegen(ir, options));
    return { backend: 'ebpf', hook: hook.spec.id, policy: ir.manifest, ir, program };
  }

  /** Stops the code generation workers; a compile after it is refused with `CODEGEN_CLOSED`. Closing twice is harmless. */
  async close(): Promise<void> {
    await this.#generator.close?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async attach(request: AttachRequest): Promise<Attachment> {
    const artifact = request.artifact as Artifact & Partial<EbpfArtifact>;
    if (artifact.backend !== 'ebpf' || artifact.program === undefined) {
      throw new EbpfBackendError('EBPF_FOREIGN_ARTIFACT', `the eBPF backend cannot attach an artifact compiled by backend '${artifact.backend}'.`);
    }
    return this.#hook(artifact.hook).attach(request as AttachRequest<EbpfArtifact>);
  }

  /**
   * Routes a restore to the hook that persisted the record: socket-select, and the XDP hooks
   * (whose per-interface dispatcher link is pinned, so it outlives the daemon). XDP policies
   * with AF_XDP executors are never persisted and a record of one is refused with
   * `RESTORE_UNSUPPORTED`, as is any hook without `restore`.
   */
  async restore(request: RestoreRequest): Promise<Attachment> {
    if (request.record.backend !== this.name) {
      throw new RestoreError('RESTORE_FAILED', `the eBPF backend cannot restore an attachment persisted by backend '${request.record.backend}'.`);
    }
    const hook = this.#hook(request.record.hook);
    if (hook.restore === undefined) {
      throw new RestoreError('RESTORE_UNSUPPORTED', `the eBPF backend cannot restore deployments at hook '${hook.spec.id}' after a restart.`);
    }
    return hook.restore(request);
  }

  /** Routes an abandon to the hook of the unfinished deployment; a hook without `abandon` has nothing that outlives its process. */
  async abandon(request: AbandonRequest): Promise<void> {
    await this.#hook(request.hook).abandon?.(request);
  }

  /** Pins live on bpffs: mounts it at /sys/fs/bpf when needed and creates `root` (0755, root-owned); a PinError otherwise. */
  preparePinRoot(root: string): void {
    ensureBpffs(root);
  }

  /**
   * Loads the artifact's program and maps into the kernel, so the verifier checks the code a
   * deploy would attach, and closes them again; nothing is attached. A rejection is the
   * loader's `VerifierError`, whose `source` is the policy line the verifier stopped at.
   */
  async verify(artifact: Artifact): Promise<void> {
    const program = (artifact as Artifact & Partial<EbpfArtifact>).program;
    if (artifact.backend !== 'ebpf' || program === undefined) {
      throw new EbpfBackendError('EBPF_FOREIGN_ARTIFACT', `the eBPF backend cannot verify an artifact compiled by backend '${artifact.backend}'.`);
    }
    // The verifier runs on a pool thread, as at deploy.
    const loaded = await loadProgramSpecAsync(program);
    loaded.close();
  }

  /**
   * The program's instructions as the kernel's disassembler prints them, each with its policy
   * source position where it has one: the listing the code generation worker made with the
   * program, or made here for a program from elsewhere.
   */
  describe(artifact: Artifact): readonly string[] {
    const program = (artifact as Artifact & Partial<EbpfArtifact>).program;
    if (artifact.backend !== 'ebpf' || program === undefined) {
      throw new EbpfBackendError('EBPF_FOREIGN_ARTIFACT', `the eBPF backend cannot describe an artifact compiled by backend '${artifact.backend}'.`);
    }
    return this.#generator.listingOf?.(program) ?? programListing(program);
  }

  #hook(id: string): NetworkHook {
    const hook = this.#byId.get(id);
    if (hook === undefined) throw new EbpfBackendError('EBPF_UNKNOWN_HOOK', `the eBPF backend does not provide hook '${id}'.`);
    return hook;
  }
}
